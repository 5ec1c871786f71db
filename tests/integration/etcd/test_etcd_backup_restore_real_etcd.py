"""Back up and restore a real 3-member TLS etcd cluster (etcd 3.5.1) with real restic."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .cluster import Cluster
from .conftest import Agent

pytestmark = pytest.mark.integration


def test_backup_destroy_restore_brings_back_the_known_keys(cluster: Cluster, agent: Agent) -> None:
    for i in range(50):
        cluster.put(f"/registry/known/{i}", f"value-{i}")
    before = cluster.revision()

    stored = agent.ok("backup")
    assert stored["revision"] == before
    assert stored["keys"] == 50

    for i in range(20):
        cluster.put(f"/registry/later/{i}", "after the backup")
    cluster.stop_all()
    cluster.destroy_data()

    token = "test-restore-1"
    for member in cluster.members:
        override = {"data_dir": str(member.data_dir)}
        staged = agent.ok("stage-restore", "--snapshot", stored["short_id"], **override)
        assert staged["revision"] == before
        done = agent.ok(
            "restore-member",
            "--snapshot",
            stored["short_id"],
            "--token",
            token,
            "--name",
            member.name,
            **override,
        )
        assert done["member"] == member.name
    cluster.start_all()
    finished = agent.ok("finish-restore", "--snapshot", stored["short_id"], "--token", token)

    assert finished["healthy"] == 3
    assert cluster.get("/registry/known/7") == "value-7"
    assert cluster.get("/registry/later/3") is None
    assert cluster.revision() > before
    members = cluster.ctl("member", "list")
    assert len(members.strip().splitlines()) == 3


def _mount_tmpfs_holding(data_dir: Path) -> None:
    """Make the data directory a mount point (as a disk of its own is) with its data in it."""
    aside = data_dir.with_name("aside")
    shutil.move(data_dir, aside)
    data_dir.mkdir(mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", str(data_dir)], check=True)
    (data_dir / "lost+found").mkdir(mode=0o700)  # as at the root of an ext4 file system
    for entry in aside.iterdir():
        shutil.move(entry, data_dir / entry.name)
    aside.rmdir()


def _restore_all(agent: Agent, cluster: Cluster, short_id: str, token: str) -> list[Any]:
    return [
        agent.run(
            "restore-member",
            "--snapshot",
            short_id,
            "--token",
            token,
            "--name",
            member.name,
            data_dir=str(member.data_dir),
        )
        for member in cluster.members
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_restore_onto_mount_points_finishes_after_a_failure_part_way(
    cluster: Cluster, agent: Agent
) -> None:
    for i in range(20):
        cluster.put(f"/registry/known/{i}", f"value-{i}")
    stored = agent.ok("backup")
    cluster.put("/registry/later", "after the backup")
    cluster.stop_all()
    mounts = [m.data_dir for m in cluster.members]
    pinned = cluster.members[1].data_dir / "pinned"
    try:
        for data_dir in mounts:
            _mount_tmpfs_holding(data_dir)
        agent.ok("stage-restore", "--snapshot", stored["short_id"])
        # A file the swap cannot move stops the second member's restore part-way.
        pinned.touch()
        subprocess.run(["chattr", "+i", str(pinned)], check=True)

        first = _restore_all(agent, cluster, stored["short_id"], "restore-try-1")

        assert [d.returncode for d in first] == [0, 1, 0], first[1].stderr
        message = first[1].stderr
        assert "stopped part-way" in message and "nothing is lost" in message
        # The agent cannot know the inventory: etcd.restore names the exact command (with -i).
        assert "run the same restore again to finish it" in message
        assert "invoke etcd.restore" not in message
        assert "Traceback" not in message
        old = cluster.members[1].data_dir
        assert [p.name for p in old.glob(".kubeprimer-before-restore-*/member")] == ["member"]
        staged = json.loads((agent.root / "state" / "restore" / "staged.json").read_text())
        assert Path(staged["file"]).is_file()

        # What the suggested command does again: stage, then restore every member.
        subprocess.run(["chattr", "-i", str(pinned)], check=True)
        agent.ok("stage-restore", "--snapshot", stored["short_id"])
        second = _restore_all(agent, cluster, stored["short_id"], "restore-try-2")
        assert [d.returncode for d in second] == [0, 0, 0], [d.stderr for d in second]
        cluster.start_all()
        agent.ok("finish-restore", "--snapshot", stored["short_id"], "--token", "restore-try-2")

        assert cluster.get("/registry/known/7") == "value-7"
        assert cluster.get("/registry/later") is None
        assert all(os.path.ismount(d) and (d / "lost+found").is_dir() for d in mounts)
        assert not (agent.root / "state" / "restore").exists()
    finally:
        cluster.stop_all()
        subprocess.run(["chattr", "-i", str(pinned)], check=False, capture_output=True)
        for data_dir in mounts:
            subprocess.run(["umount", str(data_dir)], check=False, capture_output=True)
