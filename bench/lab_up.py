"""Lab speed and size: lab.up wall time, idle memory per node, shared package downloads.

Runs labs in a state directory of its own (supernet 10.142.0.0/16, proxy port 3144),
so it neither meets nor stops the labs and proxy other people use on this host.
Needs root and a cached node image (any `invoke lab.up` builds it).

Usage: .venv/bin/python bench/lab_up.py [--runs N] [--big-runs N] [--package-runs N]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kubeprimer.lab import image, lifecycle, node
from kubeprimer.lab.config import LabConfig

NAME = "bench"
# Six packages none of them has yet, about 40 MB together: the prototype's test.
PACKAGES = "containerd runc haproxy keepalived socat conntrack"


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def machine() -> str:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem = next(line for line in meminfo if line.startswith("MemTotal"))
    gib = int(mem.split()[1]) / 2**20
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} CPUs, {gib:.1f} GiB, kernel {platform.release()}, load {load:.1f}"


def up_down_times(
    cfg: LabConfig, size: int, runs: int, inventory: Path
) -> tuple[list[float], list[float]]:
    ups, downs = [], []
    for _ in range(runs):
        ups.append(timed(lambda: lifecycle.up(cfg, NAME, size, inventory_dir=inventory)))
        downs.append(timed(lambda: lifecycle.down(cfg, NAME)))
    return ups, downs


def pss_bytes(pids: set[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def idle_memory(
    cfg: LabConfig, size: int, settle: float, inventory: Path
) -> tuple[list[int], list[int]]:
    lifecycle.up(cfg, NAME, size, inventory_dir=inventory)
    time.sleep(settle)
    working = []
    pss = []
    for n in lifecycle.status(cfg, NAME).nodes:
        working.append(node.memory_bytes(NAME, n.name) or 0)
        pss.append(pss_bytes(node.cgroup_pids(NAME, n.name)))
    lifecycle.down(cfg, NAME)
    return working, pss


def install_everywhere(status: lifecycle.LabStatus, download_only: bool = False) -> float:
    """Wall time for every node to fetch (or fetch and install) the packages at once."""
    flag = "--download-only " if download_only else ""

    def install(address: str) -> None:
        command = (
            f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q {flag}{PACKAGES} >/dev/null"
        )
        subprocess.run([*status.ssh_argv(address), command], check=True, timeout=900)

    start = time.perf_counter()
    with ThreadPoolExecutor(len(status.nodes)) as pool:
        list(pool.map(install, [n.address for n in status.nodes]))
    return time.perf_counter() - start


def package_times(cfg: LabConfig, runs: int, inventory: Path) -> dict[str, list[float]]:
    """Three nodes fetch the same six packages with an empty proxy cache, then with a warm
    one (fresh nodes each time); then they install them (unpacking is the rest)."""
    found: dict[str, list[float]] = {"cold": [], "warm": [], "install": [], "MiB": []}
    cache = cfg.cache_dir / "apt-cacher-ng"
    for _ in range(runs):
        lifecycle.down(cfg, NAME)
        shutil.rmtree(cache, ignore_errors=True)  # this bench's own proxy cache only
        status = lifecycle.up(cfg, NAME, 3, inventory_dir=inventory)
        found["cold"].append(install_everywhere(status, download_only=True))
        found["MiB"].append(sum(p.stat().st_size for p in cache.rglob("*.deb")) / 2**20)
        lifecycle.down(cfg, NAME)
        status = lifecycle.up(cfg, NAME, 3, inventory_dir=inventory)
        found["warm"].append(install_everywhere(status, download_only=True))
        found["install"].append(install_everywhere(status))
        lifecycle.down(cfg, NAME)
    return found


def row(what: str, samples: list[float], unit: str = "s") -> str:
    if not samples:
        return f"| {what} | not run | | 0 |"
    med = statistics.median(samples)
    spread = f"{min(samples):.2f}-{max(samples):.2f}"
    return f"| {what} | {med:.2f} {unit} | {spread} | {len(samples)} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs of lab.up --nodes 3")
    parser.add_argument("--big-runs", type=int, default=3, help="runs of lab.up --nodes 12")
    parser.add_argument("--package-runs", type=int, default=2, help="runs of the package test")
    parser.add_argument("--settle", type=float, default=30, help="seconds before reading memory")
    args = parser.parse_args()

    base = LabConfig()
    work = Path(tempfile.mkdtemp(prefix="kubeprimer-lab-bench-"))
    # The bench's own cache: the node image hard-linked (no copy), an empty proxy cache.
    shared = image.rootfs(base.cache_dir, image.image_key(base.mirror, base.suite))
    if not shared.is_dir():
        raise SystemExit("No cached node image yet: run `invoke lab.up` once first.")
    own_image = image.rootfs(work / "cache", shared.parent.name)
    own_image.parent.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(shared), str(own_image)], check=True)
    (own_image.parent / "complete").write_text("linked from the shared cache\n")
    cfg = dataclasses.replace(
        base,
        state_dir=work / "state",
        cache_dir=work / "cache",
        supernet="10.142.0.0/16",
        proxy_port=3144,
    )
    inventory = work / "inventory"
    print(f"machine: {machine()}")
    try:
        small, small_down = up_down_times(cfg, 3, args.runs, inventory)
        big, big_down = up_down_times(cfg, 12, args.big_runs, inventory)
        working, pss = idle_memory(cfg, 12, args.settle, inventory) if args.big_runs else ([], [])
        packages = package_times(cfg, args.package_runs, inventory)
    finally:
        lifecycle.down(cfg, NAME)
        shutil.rmtree(work, ignore_errors=True)
    mib = 2**20
    print("| measure | median | range | runs |")
    print("|---|---|---|---|")
    print(row("lab.up --nodes 3 (cached image)", small))
    print(row("lab.up --nodes 12 (cached image)", big))
    print(row("lab.down, 3 nodes", small_down))
    print(row("lab.down, 12 nodes", big_down))
    print(row("idle working set per node, 12 nodes", [w / mib for w in working], "MiB"))
    print(row("idle PSS per node, 12 nodes", [p / mib for p in pss], "MiB"))
    print(row("3 nodes fetch 6 packages at once, empty proxy cache", packages["cold"]))
    print(row("3 nodes fetch 6 packages at once, warm proxy cache", packages["warm"]))
    print(row("then 3 nodes install them (unpack, configure)", packages["install"]))
    print(row("downloaded from the mirror, once for all 3 nodes", packages["MiB"], "MiB"))


if __name__ == "__main__":
    main()
