"""Backups to a backup host over SFTP: a real OpenSSH server, restic and etcd."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cluster import Cluster
from .conftest import Agent
from .sshd import SftpTarget

pytestmark = pytest.mark.integration


def test_backup_over_sftp_lists_drills_and_survives_an_outage(
    tmp_path: Path, cluster: Cluster, sftp_target: SftpTarget
) -> None:
    repo_dir = tmp_path / "backup-host" / "etcd"
    agent = Agent(
        tmp_path / "agent",
        cluster,
        sftp_target.repository(repo_dir),
        sftp_command=sftp_target.ssh_argv(),
    )
    assert agent.ok("init") == {"created": True}
    assert agent.ok("init") == {"created": False}
    cluster.put("/registry/over-sftp", "yes")

    stored = agent.ok("backup")

    assert (repo_dir / "config").is_file()
    assert [s["short_id"] for s in agent.ok("list")] == [stored["short_id"]]
    assert agent.ok("drill", "--no-repo-check")["keys"] == 1

    sftp_target.stop()
    down = agent.run("backup")
    assert down.returncode == 1
    assert "cannot be reached" in down.stderr

    sftp_target.start()
    assert [s["short_id"] for s in agent.ok("list")] == [stored["short_id"]]


def test_a_crafted_backup_host_address_runs_nothing(
    tmp_path: Path, cluster: Cluster, sftp_target: SftpTarget
) -> None:
    pwned = tmp_path / "pwned"
    crafted = f"root@127.0.0.1 -oProxyCommand=touch${{IFS}}{pwned}"
    agent = Agent(
        tmp_path / "agent",
        cluster,
        f"sftp:{crafted}:{tmp_path / 'repo'}",
        sftp_command=sftp_target.ssh_argv(crafted),
    )

    done = agent.run("init")

    assert done.returncode == 1
    assert "cannot be reached" in done.stderr
    assert not pwned.exists()
