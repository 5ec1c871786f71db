"""etcd.list's trend lines: growth and a missed night stand out."""

from __future__ import annotations

from typing import Any

from kubeprimer.etcd import trend


def _backup(day: int, size: int, hour: int = 2) -> dict[str, Any]:
    return {"time": f"2026-11-{day:02d}T{hour:02d}:00:00.123456789Z", "size": size}


def test_steady_nightly_backups_show_growth_and_no_missed_night() -> None:
    entries = [_backup(d, 1024 * 1024 * d) for d in range(1, 8)]
    size, gaps = trend.lines(list(reversed(entries)))[1:]  # listed newest first
    assert size == "  size  ▁▂▃▅▆▇█  1.0 MiB → 7.0 MiB"
    assert gaps.endswith("usual gap 24.0 h, none missed")
    assert gaps.split()[1] == "▁" * 6


def test_a_missed_night_is_counted_and_its_gap_stands_out() -> None:
    days = [1, 2, 3, 5, 6, 7]
    lines = trend.lines([_backup(d, 4096) for d in days])
    assert lines[0] == "Trend, oldest to newest (6 backups over 6.0 d):"
    bars = lines[2].split()[1]
    assert bars.index("█") == 2  # the gap between the 3rd and the 5th
    assert "1 longer than 1.5 times that (longest 2.0 d)" in lines[2]
    assert lines[1].split()[1] == "▁" * 6  # same size every night


def test_too_few_backups_give_no_trend() -> None:
    assert trend.lines([_backup(1, 1), _backup(2, 2)]) == []
