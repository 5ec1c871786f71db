"""The restore drill: prove a backup restores, in a throwaway etcd away from the cluster.

The throwaway member listens only on Unix sockets in a folder only root can enter (no
network port, so no other local user can read the cluster's secrets from it), has no
peers and its own temporary data directory; it is stopped and removed whatever the outcome.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import Config
from .etcd import Etcd
from .fetch import fetch
from .restic import Repository
from .run import AgentError

START_TIMEOUT = 30.0


def drill(
    config: Config, snapshot_id: str | None, say: Any, *, check_repo: bool = True
) -> dict[str, Any]:
    started = time.time()
    repo = Repository(config)
    snapshot = repo.find(snapshot_id)
    say(f"drill on backup {snapshot.short_id} from {snapshot.tags.get('host', snapshot.hostname)}")
    if check_repo:
        repo.check()
    work = Path(tempfile.mkdtemp(prefix="etcd-drill-", dir=config.state_dir))
    try:
        manifest = fetch(config, repo, snapshot, work / "fetched")
        result = _boot_and_compare(config, Path(manifest["file"]), manifest, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.update(
        {
            "id": snapshot.id,
            "short_id": snapshot.short_id,
            "drill_seconds": round(time.time() - started, 3),
        }
    )
    return result


def _boot_and_compare(
    config: Config, file: Path, manifest: dict[str, Any], work: Path
) -> dict[str, Any]:
    # The throwaway member holds every secret of the cluster in plain form: it listens
    # only on Unix sockets in a folder only root can enter, never on a network port.
    # etcd wants "host:port" even there, taken as a path relative to its working folder.
    sockets = Path(tempfile.mkdtemp(prefix="kp-drill-"))
    client_url, peer_url = "unix://client:0", "unix://peer:0"
    data = work / "data"
    etcd = Etcd(config)
    etcd.restore(
        file,
        data,
        name="drill",
        initial_cluster=f"drill={peer_url}",
        peer_urls=peer_url,
        token="kubeprimer-drill",
        bump=False,
    )
    log = open(work / "etcd.log", "w")  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(
        [
            config.tool("etcd"),
            "--name=drill",
            f"--data-dir={data}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=drill={peer_url}",
            "--log-level=error",
        ],
        cwd=sockets,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"unix://{sockets}/client:0"
        # No certificates: only root reaches the socket.
        local = Etcd(replace(config, cacert="", cert="", key="", endpoints=[url]))
        _wait_healthy(local, process, url, work / "etcd.log")
        revision = local.revision(url)
        keys = local.key_count(url)
        hashkv = local.hashkv(url, revision)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(sockets, ignore_errors=True)
    problems = []
    # etcd reports revision 1 for a store never written to, whose snapshot says 0.
    expected = max(int(manifest["revision"]), 1)
    if revision != expected:
        problems.append(f"revision {revision} instead of {expected}")
    if keys != manifest["live_keys"]:
        problems.append(f"{keys} keys instead of {manifest['live_keys']}")
    if problems:
        raise AgentError("the restored etcd differs from the backup: " + ", ".join(problems) + ".")
    return {
        "ok": True,
        "revision": revision,
        "keys": keys,
        "hashkv": hashkv,
        "hash": manifest["hash"],
        "etcd_version": manifest["etcd_version"],
    }


def _wait_healthy(local: Etcd, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.time() + START_TIMEOUT
    while time.time() < deadline:
        if process.poll() is not None:
            tail = log.read_text().strip().splitlines()[-1:] or ["no output"]
            raise AgentError(f"the restored etcd did not start: {tail[0]}")
        try:
            local.revision(url, wait=2)
            return
        except AgentError:
            time.sleep(0.2)
    raise AgentError(f"the restored etcd did not answer within {START_TIMEOUT:.0f} s.")
