"""Back up and restore a real 3-member TLS etcd cluster (etcd 3.5.1) with real restic."""

from __future__ import annotations

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
