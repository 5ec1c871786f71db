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

Converged runs also report the controller's CPU time per host (user + system of
`invoke` and every process it starts: ansible-playbook, its workers, ssh), and --floor
times what any converged run must do at least on the same nodes: `ansible-playbook`
starting, loading the inventory and running one module (ping) on every host. Sizes
above the lab's node limit raise it through Invoke's configuration
(INVOKE_KUBEPRIMER_LAB_MAX_NODES), e.g. `--sizes 30 --no-full --skip-baseline --floor`.

By default the lab's package proxy already holds every Debian package (warm), so first
runs measure our own overhead at its largest share. With --cold the proxy's cache is
emptied before every first run and every bare-playbook run, so both download their
packages as on freshly installed bare metal; this needs every other lab to be down.

Usage: .venv/bin/python bench/cluster_up.py [--runs N] [--converged-runs N] [--sizes 3,6]
       [--skip-baseline] [--cold] [--no-full] [--floor] [--lab NAME] [--plot]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
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
FLOOR = ROOT / "bench" / "one_module.yml"
# The lab's node limit, raised for the sizes asked for.
LAB_ENV = dict(os.environ)


def invoke(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "invoke"), *args],
        cwd=ROOT,
        env=LAB_ENV,
        capture_output=True,
        text=True,
        check=check,
    )


def lab_up(name: str, nodes: int) -> Path:
    """Boot the lab; its inventory path is the one lab.up reports."""
    done = invoke("lab.up", f"--name={name}", f"--nodes={nodes}")
    found = re.search(r"^inventory: (\S+)", done.stdout, re.M)
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


def children_cpu() -> float:
    """User + system seconds of every finished child process of this one, so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed_up(inventory: Path, *flags: str) -> tuple[float, str, int, float]:
    """Wall time, output, exit status and controller CPU seconds of one cluster.up."""
    cpu, start = children_cpu(), time.perf_counter()
    done = invoke("cluster.up", "-i", str(inventory), *flags, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode == 2:
        raise SystemExit(f"cluster.up rejected the lab inventory:\n{done.stdout}{done.stderr}")
    return elapsed, done.stdout + done.stderr, done.returncode, children_cpu() - cpu


def timed_floor(inventory: Path) -> tuple[float, float]:
    """Wall time and controller CPU of ansible-playbook running one module on every host."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    cpu, start = children_cpu(), time.perf_counter()
    subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), "-f", "50", str(FLOOR)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - start, children_cpu() - cpu


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


def plot(
    sizes: list[int], first: dict[int, list[float]], again: dict[int, list[float]], cache: str
) -> None:
    """First and converged runs against the node count, beside the numbers."""
    from plots import RESULTS, draw, machine, record

    medians = {
        "first": {n: median(first[n]) for n in sizes},
        "converged": {n: median(again[n]) for n in sizes},
    }
    record(
        "cluster_up",
        {"package_cache": cache, "runs": {"first": first, "converged": again}, "medians": medians},
    )
    host = machine()
    draw(
        RESULTS / "cluster_up.png",
        "invoke cluster.up on lab nodes (stops at kube_artifacts)",
        ("nodes", "seconds (median)"),
        {label: [(n, values[n]) for n in sizes] for label, values in medians.items()},
        note=f"{host['date']}, {host['cpus']} CPUs, load {host['load']}, package cache {cache}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement")
    parser.add_argument(
        "--converged-runs", type=int, help="converged runs per size (default: --runs)"
    )
    parser.add_argument("--sizes", default="3,6", help="lab sizes to measure")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--cold", action="store_true", help="empty the package cache before first runs"
    )
    parser.add_argument("--no-full", action="store_true", help="skip the --full runs")
    parser.add_argument(
        "--floor", action="store_true", help="time one module on every host (bench/one_module.yml)"
    )
    parser.add_argument("--lab", default="bench", help="lab name prefix (the size is appended)")
    parser.add_argument(
        "--plot",
        action="store_true",
        help="write the medians to bench/results/cluster_up.json and draw cluster_up.png",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    converged_runs = args.converged_runs or args.runs
    LAB_ENV["INVOKE_KUBEPRIMER_LAB_MAX_NODES"] = str(max([*sizes, 12]))

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
        f"package cache {'cold' if args.cold else 'warm'}"
    )
    first: dict[int, list[float]] = {n: [] for n in sizes}
    again: dict[int, list[float]] = {n: [] for n in sizes}
    full: dict[int, list[float]] = {n: [] for n in sizes}
    cpu: dict[int, list[float]] = {n: [] for n in sizes}
    floor: dict[int, list[tuple[float, float]]] = {n: [] for n in sizes}
    baseline: list[float] = []
    for n in sizes:
        name = f"{args.lab}{n}"
        for i in range(args.runs):
            inventory = fresh_lab(name, n, args.cold)
            elapsed, output, rc, _ = timed_up(inventory)
            first[n].append(elapsed)
            print(
                f"{n} nodes, first run {i + 1}: {elapsed:.1f} s (exit {rc}, stopped in: {stage_reached(output)})"
            )
            if i == 0:
                # Converged re-runs on the same lab.
                for j in range(converged_runs):
                    elapsed, output, rc, used = timed_up(inventory)
                    again[n].append(elapsed)
                    cpu[n].append(used / n)
                    print(
                        f"{n} nodes, second run {j + 1}: {elapsed:.1f} s (exit {rc}),"
                        f" controller CPU {used / n:.2f} s per host,"
                        f" load {os.getloadavg()[0]:.1f}"
                    )
                for j in range(converged_runs if args.floor else 0):
                    floor[n].append(timed_floor(inventory))
                    print(f"{n} nodes, one module on every host {j + 1}: {floor[n][-1][0]:.1f} s")
                # The same, with every stage run again (no converge records used).
                for j in range(0 if args.no_full else args.runs):
                    elapsed, output, rc, _ = timed_up(inventory, "--full")
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
            f" controller CPU {median(cpu[n]):.2f} s per host"
            + (f"; converged with --full {median(full[n]):.1f} s" if full[n] else "")
        )
        if floor[n]:
            wall = median([w for w, _ in floor[n]])
            used = median([c for _, c in floor[n]])
            print(
                f"{n} nodes: floor (ansible-playbook, one module on every host) {wall:.1f} s,"
                f" controller CPU {used / n:.2f} s per host"
            )
    if args.plot:
        plot(sizes, first, again, "cold" if args.cold else "warm")
    if 3 in sizes and 6 in sizes:
        ratio = median(again[6]) / median(again[3])
        print(f"converged 6 vs 3 nodes: {ratio:.2f}x (target <= 1.5x)")
    if baseline and 3 in sizes:
        ratio = median(first[3]) / median(baseline)
        print(f"first run vs bare package playbook (3 nodes): {ratio:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
