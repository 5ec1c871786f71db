"""Median wall time of `invoke --list`, which must stay well under a second.

Usage: .venv/bin/python bench/cli_list.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    invoke = Path(sys.executable).with_name("invoke")
    samples = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([str(invoke), "--list"], cwd=ROOT, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"invoke --list: median {statistics.median(samples) * 1000:.0f} ms over {args.runs} runs (min {min(samples) * 1000:.0f}, max {max(samples) * 1000:.0f})"
    )


if __name__ == "__main__":
    main()
