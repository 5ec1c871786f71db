"""A compact trend of the backups under `etcd.list`'s table: one line of sizes and one
of the gaps between backups, oldest to newest, so steady growth or a missed night
stands out without reading every row."""

from __future__ import annotations

from itertools import pairwise
from statistics import median
from typing import Any

from kubeprimer.etcd.report import human_size

BARS = "▁▂▃▄▅▆▇█"
# A gap this many times the usual interval is a backup that did not happen.
MISSED = 1.5


def _bars(values: list[float]) -> str:
    low, high = min(values), max(values)
    if high == low:
        return BARS[0] * len(values)
    return "".join(BARS[round((v - low) / (high - low) * (len(BARS) - 1))] for v in values)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


def lines(entries: list[dict[str, Any]]) -> list[str]:
    """Nothing for fewer than three backups: a trend needs more than two points."""
    from kubeprimer.etcd.agent.restic import parse_time

    ordered = sorted(entries, key=lambda e: parse_time(str(e["time"])))
    if len(ordered) < 3:
        return []
    sizes = [float(e["size"]) for e in ordered]
    times = [parse_time(str(e["time"])) for e in ordered]
    gaps = [later - earlier for earlier, later in pairwise(times)]
    usual = median(gaps)
    missed = [g for g in gaps if usual and g > MISSED * usual]
    growth = f"{human_size(int(sizes[0]))} → {human_size(int(sizes[-1]))}"
    gap_note = f"usual gap {_duration(usual)}, " + (
        f"{len(missed)} longer than {MISSED} times that (longest {_duration(max(missed))})"
        if missed
        else "none missed"
    )
    return [
        f"Trend, oldest to newest ({len(ordered)} backups over {_duration(times[-1] - times[0])}):",
        f"  size  {_bars(sizes)}  {growth}",
        f"  gaps   {_bars(gaps)}  {gap_note}",
    ]
