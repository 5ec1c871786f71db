"""cluster.cis's table for people and its JSON for scripts: the same rows."""

from __future__ import annotations

from typing import Any

from kubeprimer.cis.check import FAIL, NA, PASS, UNKNOWN, WARN
from kubeprimer.cis.evaluate import Row, counts
from kubeprimer.output import Listing

_STYLE = {PASS: "green", FAIL: "bold red", WARN: "yellow", UNKNOWN: "red", NA: "dim"}


def listing(rows: list[Row]) -> Listing:
    from rich.text import Text

    table = Listing(
        columns=["check", "host", "result", "fix"],
        title="CIS Kubernetes Benchmark v1.12 (kube-bench cis-1.12)",
        compact=True,
    )
    for row in rows:
        # The fix only where there is something to do; a reason where nothing was read.
        fix = row.fix if row.status in (FAIL, WARN) else row.detail if row.status == UNKNOWN else ""
        table.add(row.check, row.host, Text(row.status, _STYLE[row.status]), fix)
    return table


def summary(rows: list[Row]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts(rows).items())


def data(rows: list[Row]) -> dict[str, Any]:
    return {
        "benchmark": "cis-1.12",
        "checks": [r.data() for r in rows],
        "counts": counts(rows),
        "unreachable": sorted({r.host for r in rows if r.status == UNKNOWN}),
    }
