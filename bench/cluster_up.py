"""Wall time of `invoke cluster.up` on lab nodes, up to the furthest stage this
machine allows (it stops at kube_artifacts: Kubernetes binaries cannot be downloaded
here), against the targets:

  second run      <= 10% of the first run (3 nodes)
  converged 6     <= 1.5 x converged 3 (second runs)
  first run (3)   <= 1.5 x a bare playbook installing the same packages on fresh nodes

Converged re-runs are timed as users run them (stages whose recorded state still holds
are skipped) and with --full (every task of every stage runs again), for comparison.
Each "first run" boots a fresh lab (`invoke lab.up`, not timed) and removes it after.
Medians over --runs. Needs root (the lab).

By default the lab's package proxy already holds every Debian package (warm), so first
runs measure our own overhead at its largest share. With --cold the proxy's cache is
emptied before every first run and every bare-playbook run, so both download their
packages as on freshly installed bare metal; this needs every other lab to be down.

Usage: .venv/bin/python bench/cluster_up.py [--runs N] [--sizes 3,6] [--skip-baseline] [--cold]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from kubeprimer.lab import state
from kubeprimer.lab.config import LabConfig

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASELINE = ROOT / "bench" / "bare_packages.yml"


def invoke(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "invoke"), *args], cwd=ROOT, capture_output=True, text=True, check=check
    )


def lab_up(name: str, nodes: int) -> Path:
    """Boot the lab; its inventory path is the one lab.up reports."""
    done = invoke("lab.up", f"--name={name}", f"--nodes={nodes}")
    found = re.search(r"^inventory: (\S+)$", done.stdout, re.M)
    if not found:
        raise SystemExit(f"lab.up did not report an inventory:\n{done.stdout}{done.stderr}")
    return Path(found.group(1))


def lab_down(name: str) -> None:
    invoke("lab.down", f"--name={name}", check=False)


def fresh_lab(name: str, nodes: int, cold: bool) -> Path:
    """A newly booted lab; with ``cold``, behind a package proxy that holds nothing."""
    lab_down(name)
    if cold:
        cfg = LabConfig()
        others = sorted(state.all_labs(cfg.state_dir))
        if others:
            raise SystemExit(
                f"--cold empties the package cache every lab shares; take down {others} first."
            )
        # The proxy stopped with the last lab, so nothing holds the cache open.
        shutil.rmtree(cfg.cache_dir / "apt-cacher-ng", ignore_errors=True)
    return lab_up(name, nodes)


def stage_reached(output: str) -> str:
    """The last play cluster.up started, from its output."""
    names = re.findall(r"^PLAY (.+)$", output, re.M)
    return names[-1].strip() if names else "?"


def timed_up(inventory: Path, *flags: str) -> tuple[float, str, int]:
    start = time.perf_counter()
    done = invoke("cluster.up", "-i", str(inventory), *flags, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode == 2:
        raise SystemExit(f"cluster.up rejected the lab inventory:\n{done.stdout}{done.stderr}")
    return elapsed, done.stdout + done.stderr, done.returncode


def timed_baseline(inventory: Path) -> float:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    start = time.perf_counter()
    subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(BASELINE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - start


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement")
    parser.add_argument("--sizes", default="3,6", help="lab sizes to measure")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--cold", action="store_true", help="empty the package cache before first runs"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
        f"package cache {'cold' if args.cold else 'warm'}"
    )
    first: dict[int, list[float]] = {n: [] for n in sizes}
    again: dict[int, list[float]] = {n: [] for n in sizes}
    full: dict[int, list[float]] = {n: [] for n in sizes}
    baseline: list[float] = []
    for n in sizes:
        name = f"bench{n}"
        for i in range(args.runs):
            inventory = fresh_lab(name, n, args.cold)
            elapsed, output, rc = timed_up(inventory)
            first[n].append(elapsed)
            print(
                f"{n} nodes, first run {i + 1}: {elapsed:.1f} s (exit {rc}, stopped in: {stage_reached(output)})"
            )
            if i == 0:
                # Converged re-runs on the same lab.
                for j in range(args.runs):
                    elapsed, output, rc = timed_up(inventory)
                    again[n].append(elapsed)
                    print(f"{n} nodes, second run {j + 1}: {elapsed:.1f} s (exit {rc})")
                # The same, with every stage run again (no converge records used).
                for j in range(args.runs):
                    elapsed, output, rc = timed_up(inventory, "--full")
                    full[n].append(elapsed)
                    print(f"{n} nodes, converged --full run {j + 1}: {elapsed:.1f} s (exit {rc})")
        if n == 3 and not args.skip_baseline:
            for i in range(args.runs):
                inventory = fresh_lab(name, n, args.cold)
                baseline.append(timed_baseline(inventory))
                print(f"3 nodes, bare package playbook {i + 1}: {baseline[-1]:.1f} s")
        lab_down(name)

    print()
    for n in sizes:
        f, a = median(first[n]), median(again[n])
        print(
            f"{n} nodes: first {f:.1f} s, second {a:.1f} s, second/first {a / f:.0%} (target <= 10%);"
            f" converged with --full {median(full[n]):.1f} s"
        )
    if 3 in sizes and 6 in sizes:
        ratio = median(again[6]) / median(again[3])
        print(f"converged 6 vs 3 nodes: {ratio:.2f}x (target <= 1.5x)")
    if baseline and 3 in sizes:
        ratio = median(first[3]) / median(baseline)
        print(f"first run vs bare package playbook (3 nodes): {ratio:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
