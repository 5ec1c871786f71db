"""Locks left by crashed restic runs: provably stale ones stop blocking backups, live ones are
never removed, and the command a message suggests works as written (real restic and etcd).

A crashed run is a real restic process holding an exclusive lock (as prune and check take),
killed with SIGKILL. "Another host" is a UTS namespace with its own host name.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .cluster import Cluster
from .conftest import Agent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="host names of their own need root (unshare)"),
]

OTHER_HOST = "etcd-elsewhere"


def on_host(name: str) -> list[str]:
    """A command prefix that runs the rest under host name ``name``."""
    return ["unshare", "-u", "sh", "-c", 'hostname "$0" && exec "$@"', name]


def locks(agent: Agent) -> list[Path]:
    return sorted((Path(agent.settings["repository"]) / "locks").iterdir())


def _readable(lock_id: str, env: dict[str, str]) -> bool:
    done = subprocess.run(
        ["restic", "cat", "lock", lock_id, "--no-lock"], env=env, capture_output=True, check=False
    )
    return done.returncode == 0


@contextmanager
def exclusive_lock(agent: Agent, host: str = "") -> Iterator[subprocess.Popen[bytes]]:
    """A restic run holding an exclusive lock (it waits on a FIFO for a new password)."""
    fifo = agent.root / "new-password"
    if not fifo.exists():
        os.mkfifo(fifo, 0o600)
    env = {
        **agent.env,
        "RESTIC_REPOSITORY": agent.settings["repository"],
        "RESTIC_PASSWORD_FILE": agent.settings["password_file"],
    }
    argv = ["restic", "key", "passwd", "--new-password-file", str(fifo)]
    holder = subprocess.Popen(
        [*(on_host(host) if host else []), *argv], env=env, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        # Until restic itself reads the lock: a file half written is no lock to it yet.
        while not any(_readable(lock.name, env) for lock in locks(agent)):
            assert time.monotonic() < deadline, "restic took no lock"
            time.sleep(0.05)
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_a_crashed_run_on_this_host_no_longer_blocks_backups(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    with exclusive_lock(shared_agent) as holder:
        holder.kill()

    done = shared_agent.run("backup", lock_wait_seconds=0)

    assert done.returncode == 0, done.stderr
    assert "removed the stale exclusive lock" in done.stderr
    assert locks(shared_agent) == []


def test_a_recent_lock_from_another_host_is_kept_and_the_advice_removes_it(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    with exclusive_lock(shared_agent, OTHER_HOST) as holder:
        holder.kill()

    blocked = shared_agent.run("backup", lock_wait_seconds=0)

    assert blocked.returncode == 1
    suggested = f"running 'kubeprimer-etcd-backup unlock' as root on {OTHER_HOST}"
    assert suggested in blocked.stderr and "Traceback" not in blocked.stderr
    assert len(locks(shared_agent)) == 1

    # The suggested command, run on that host: kubeprimer-etcd-backup is the agent.
    unlocked = shared_agent.run("unlock", wrap=on_host(OTHER_HOST))

    assert unlocked.returncode == 0, unlocked.stderr
    assert locks(shared_agent) == []
    assert shared_agent.ok("backup", lock_wait_seconds=0)["short_id"]


def test_a_live_lock_is_never_removed(shared_cluster: Cluster, shared_agent: Agent) -> None:
    with exclusive_lock(shared_agent) as holder:
        blocked = shared_agent.run("backup", lock_wait_seconds=0)
        unlocked = shared_agent.ok("unlock")

        assert blocked.returncode == 1
        assert f"PID {holder.pid}" in blocked.stderr and "wait for it" in blocked.stderr
        assert unlocked["removed"] == [] and len(unlocked["kept"]) == 1
        assert len(locks(shared_agent)) == 1 and holder.poll() is None
