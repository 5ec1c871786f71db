"""bench/plots.py writes the figures as JSON and draws them as a real PNG."""

from __future__ import annotations

import json
from pathlib import Path

from bench import plots


def test_record_keeps_the_figures_with_the_machine(tmp_path: Path) -> None:
    path = plots.record("demo", {"medians": {"3": 1.5}}, folder=tmp_path)
    data = json.loads(path.read_text())
    assert data["medians"] == {"3": 1.5}
    assert {"host", "cpus", "load", "date"} <= set(data["machine"])


def test_draw_writes_a_png_with_one_line_per_series(tmp_path: Path) -> None:
    path = plots.draw(
        tmp_path / "demo.png",
        "cluster.up",
        ("nodes", "seconds"),
        {"first": [(3, 20.0), (6, 40.0)], "converged": [(3, 2.0), (6, 3.0)]},
        note="machine",
    )
    header = path.read_bytes()[:8]
    assert header == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000  # axes, two lines and labels, not an empty canvas
