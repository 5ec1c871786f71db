"""Benchmark figures kept beside the numbers: each script that takes --plot writes its
medians to bench/results/NAME.json (with the machine and its load) and draws them in
bench/results/NAME.png, which bench/README.md shows."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

# (x, y) points of one line, in the order they are drawn.
Series = Sequence[tuple[float, float]]


def machine() -> dict[str, Any]:
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "load": round(os.getloadavg()[0], 1),
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def record(name: str, data: Mapping[str, Any], folder: Path = RESULTS) -> Path:
    """The figures as JSON, for the next plot or a comparison with a later run."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2) + "\n")
    return path


def draw(
    path: Path,
    title: str,
    axes: tuple[str, str],
    series: Mapping[str, Series],
    note: str = "",
) -> Path:
    """One PNG with a line per series, each point labelled with its value."""
    import matplotlib

    matplotlib.use("Agg")  # no display on the machines that run benchmarks
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for label, points in series.items():
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        ax.plot(xs, ys, marker="o", label=label)
        for x, y in points:
            ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center")
    ax.set_title(title)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend()
    if note:
        figure.text(0.01, 0.01, note, fontsize=7, alpha=0.7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
