"""cluster.cis: the CIS Kubernetes Benchmark's checks on every host, read over SSH."""

from __future__ import annotations

from typing import Any

from invoke import Exit

from kubeprimer.ansible import EXIT_UNREACHABLE
from kubeprimer.errors import UserError
from kubeprimer.output import JSON_HELP, console, emit_json, show
from kubeprimer.settings import resolve, setting
from kubeprimer.tasks._common import INVENTORY_HELP, load_inventory
from kubeprimer.tasks._task import task


@task(
    help={
        "inventory": INVENTORY_HELP,
        "timeout": "seconds to wait for each host's SSH connection (default 10)",
        "json": JSON_HELP,
    }
)
def cis(c: Any, inventory: str | None = None, timeout: int = 10, json: bool = False) -> None:
    """Check every host against CIS Kubernetes Benchmark v1.12 (exit 1 on any FAIL)."""
    from kubeprimer.cis import evaluate, report

    if timeout <= 0:
        raise UserError(f"--timeout is {timeout}; give the seconds to wait, 1 or more.")
    inv = load_inventory(c, inventory)
    evaluate.checked_hosts(inv)  # no host to check is bad input, before any connection
    out = console(as_json=json)
    found = evaluate.read(inv, resolve(setting(c, "runs_dir")), timeout)
    for line in (*found.recorded, *found.refused):
        out.print(line)
    rows = evaluate.collect(inv, found.facts, found.errors)
    if json:
        emit_json(report.data(rows))
    else:
        show(out, report.listing(rows))
        out.print(report.summary(rows))
    failures = evaluate.failed(rows)
    if failures:
        named = ", ".join(list(dict.fromkeys(f"{r.check} on {r.host}" for r in failures))[:5])
        more = " and more" if len(failures) > 5 else ""
        raise Exit(
            f"{len(failures)} check(s) failed ({named}{more}): apply each row's fix, or run "
            "cluster.up to restore what the installer sets, then run cluster.cis again.",
            code=1,
        )
    if found.unreachable or found.errors:
        raise Exit(
            "Some hosts could not be read (rows UNKNOWN): fix their SSH access or bring them "
            "back, then run cluster.cis again.",
            code=EXIT_UNREACHABLE,
        )
