"""The restore drill's throwaway etcd holds every secret of the cluster: a local user who is
not root cannot read them while it runs (real etcd, a real unprivileged account)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeprimer.paths import ROOT

from .cluster import Cluster
from .conftest import Agent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="making a local account needs root"),
]

SECRET_KEY = "/registry/secrets/default/db-password"


@pytest.fixture
def local_user() -> Iterator[str]:
    name = f"kp-probe-{secrets.token_hex(3)}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
    )
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)


def _drill_etcd(agent: Agent) -> int:
    """The PID of the drill's etcd (its data folder is under the agent's state folder)."""
    marker = f"--data-dir={agent.root}".encode()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for proc in Path("/proc").iterdir():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            is_etcd = Path(cmdline[0].decode()).name == "etcd"
            if (
                is_etcd
                and b"--name=drill" in cmdline
                and any(a.startswith(marker) for a in cmdline)
            ):
                return int(proc.name)
        time.sleep(0.01)
    raise AssertionError("the drill started no etcd")


def _client_url(pid: int) -> str:
    """Where the drill's etcd serves clients, as an absolute URL."""
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    url = next(a.split("=", 1)[1] for a in args if a.startswith("--listen-client-urls="))
    if url.startswith("unix://"):
        # etcd takes the socket path relative to its working folder.
        return f"unix://{os.readlink(f'/proc/{pid}/cwd')}/{url.removeprefix('unix://')}"
    return url


def _get(cluster: Cluster, url: str, user: str = "") -> subprocess.CompletedProcess[str]:
    as_user = ["runuser", "-u", user, "--"] if user else []
    return subprocess.run(
        [
            *as_user,
            str(cluster.bin_dir / "etcdctl"),
            f"--endpoints={url}",
            "--dial-timeout=2s",
            "--command-timeout=3s",
            "get",
            SECRET_KEY,
            "--print-value-only",
        ],
        capture_output=True,
        text=True,
        env={"ETCDCTL_API": "3", "PATH": os.environ["PATH"]},
        timeout=30,
        check=False,
    )


def test_a_local_user_cannot_read_the_drill_etcd(
    shared_cluster: Cluster, shared_agent: Agent, local_user: str
) -> None:
    secret = secrets.token_urlsafe(16)
    shared_cluster.put(SECRET_KEY, secret)
    shared_agent.ok("backup")
    drill = subprocess.Popen(
        shared_agent.argv("drill", "--no-repo-check"),
        cwd=ROOT,
        env=shared_agent.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        etcd = _drill_etcd(shared_agent)
        # Hold the drill still, so its etcd stays up while we probe it.
        drill.send_signal(signal.SIGSTOP)
        url = _client_url(etcd)
        deadline = time.monotonic() + 30
        while (as_root := _get(shared_cluster, url)).stdout.strip() != secret:
            assert time.monotonic() < deadline, as_root.stderr
            time.sleep(0.2)
        listening = subprocess.run(
            ["ss", "-Hltnp"], capture_output=True, text=True, check=True
        ).stdout

        as_user = _get(shared_cluster, url, local_user)

        assert as_user.returncode != 0
        assert secret not in as_user.stdout + as_user.stderr
        assert f"pid={etcd}," not in listening
    finally:
        drill.send_signal(signal.SIGCONT)
        _, err = drill.communicate(timeout=120)
    assert drill.returncode == 0, err
