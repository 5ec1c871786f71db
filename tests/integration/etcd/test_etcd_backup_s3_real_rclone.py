"""Backups to an S3-compatible bucket: a real S3 server (rclone serve s3), restic and etcd."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cluster import Cluster
from .conftest import Agent
from .s3 import S3Target

pytestmark = pytest.mark.integration


def test_backup_to_s3_lists_drills_and_survives_an_outage(
    tmp_path: Path, cluster: Cluster, s3_target: S3Target
) -> None:
    agent = Agent(
        tmp_path / "agent",
        cluster,
        s3_target.repository("backups", "lab/etcd"),
        env_file=str(s3_target.env_file(tmp_path / "restic.env")),
    )
    assert agent.ok("init") == {"created": True}
    assert agent.ok("init") == {"created": False}
    cluster.put("/registry/to-s3", "yes")

    stored = agent.ok("backup")

    bucket = s3_target.root / "data" / "backups" / "lab" / "etcd"
    assert (bucket / "config").is_file() and any((bucket / "data").rglob("*"))
    assert [s["short_id"] for s in agent.ok("list")] == [stored["short_id"]]
    assert agent.ok("drill", "--no-repo-check")["keys"] == 1

    s3_target.stop()
    down = agent.run("backup")
    assert down.returncode == 1
    assert "cannot be reached" in down.stderr

    s3_target.start()
    assert [s["short_id"] for s in agent.ok("list")] == [stored["short_id"]]


def test_wrong_s3_keys_fail_clearly_and_leak_nothing(
    tmp_path: Path, cluster: Cluster, s3_target: S3Target
) -> None:
    wrong = S3Target(s3_target.root, s3_target.port)  # same server, other keys
    agent = Agent(
        tmp_path / "agent",
        cluster,
        s3_target.repository("backups", "lab/etcd"),
        env_file=str(wrong.env_file(tmp_path / "restic.env")),
    )
    refused = agent.run("init")
    assert refused.returncode != 0
    assert "refused the S3 keys" in refused.stderr
    assert wrong.secret_access_key not in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr
