"""A damaged pack is found by the scheduled check, and from then on backups no longer report
plain success (real restic repository, real etcd); checks and drills leave metrics."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from .cluster import Cluster
from .conftest import Agent

pytestmark = pytest.mark.integration


def metric(agent: Agent, name: str) -> float | None:
    text = (agent.root / "textfile" / "kubeprimer_etcd_backup.prom").read_text()
    found = re.search(rf"^kubeprimer_etcd_backup_{name}\{{host=\"m1\"\}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def damage_biggest_pack(agent: Agent) -> None:
    packs = [p for p in (Path(agent.settings["repository"]) / "data").rglob("*") if p.is_file()]
    biggest = max(packs, key=lambda p: p.stat().st_size)
    biggest.chmod(0o644)
    raw = bytearray(biggest.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    biggest.write_bytes(bytes(raw))


def test_a_damaged_pack_fails_the_check_and_later_backups(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    for i in range(20):
        shared_cluster.put(f"/registry/health/{i}", "x" * 200)
    shared_agent.ok("backup")
    passed = shared_agent.ok("check", "--read-data-subset", "100%")
    assert passed["ok"] is True
    good_check = metric(shared_agent, "last_check_success_timestamp_seconds")
    assert good_check and metric(shared_agent, "last_check_success") == 1
    assert shared_agent.ok("drill")["ok"] is True
    assert metric(shared_agent, "last_drill_success") == 1
    good_backup = metric(shared_agent, "last_success_timestamp_seconds")

    damage_biggest_pack(shared_agent)
    failed = shared_agent.run("check", "--read-data-subset", "100%")

    assert failed.returncode == 1
    assert "damaged" in failed.stderr and "Traceback" not in failed.stderr
    assert metric(shared_agent, "last_check_success") == 0
    assert metric(shared_agent, "last_check_success_timestamp_seconds") == good_check

    shared_cluster.put("/registry/health/after", "y")
    after = shared_agent.run("backup")

    assert after.returncode == 1
    assert "failed its last check" in after.stderr
    assert "'kubeprimer-etcd-backup check' as root" in after.stderr
    assert metric(shared_agent, "last_success") == 0
    assert metric(shared_agent, "last_success_timestamp_seconds") == good_backup
    status = shared_agent.ok("list", "--status")
    assert status["check"]["ok"] is False and "damaged" in status["check"]["error"]
    assert status["drill"]["ok"] is True and len(status["backups"]) == 2


def test_a_check_refuses_a_subset_restic_cannot_read(shared_agent: Agent) -> None:
    done = shared_agent.run("check", "--read-data-subset", "all; reboot")

    assert done.returncode == 2
    assert "is not a subset restic reads" in done.stderr


def test_the_documented_repair_makes_the_check_pass_again(
    tmp_path: Path, shared_cluster: Cluster, shared_agent: Agent
) -> None:
    """docs/etcd-backup.md, "A damaged repository", step by step with the agent's commands."""
    # Enough data that the biggest pack holds file data, as in any real cluster.
    for i in range(200):
        shared_cluster.put(f"/registry/repair/{i}", secrets.token_hex(1024))
    shared_agent.ok("backup")
    damage_biggest_pack(shared_agent)

    # 1. restic check through the agent names the damaged packs.
    found = shared_agent.run("restic", "check", "--read-data")
    packs = re.findall(r"Pack ID does not match, want ([0-9a-f]{64})", found.stdout + found.stderr)
    assert found.returncode != 0 and packs
    # 2. Move them out of the repository, on the backup host.
    data = Path(shared_agent.settings["repository"]) / "data"
    for pack in packs:
        (data / pack[:2] / pack).rename(tmp_path / pack)
    # 3. and 4. Rebuild the index, find the backups that lost data, forget them.
    assert shared_agent.run("restic", "rebuild-index").returncode == 0
    lost = shared_agent.run("restic", "check")
    blobs = re.findall(r"blob ([0-9a-f]{64}) not found in index", lost.stdout + lost.stderr)
    assert blobs, lost.stdout + lost.stderr
    held = set()
    for blob in blobs:
        find = shared_agent.run("restic", "find", "--blob", blob)
        held |= set(re.findall(r"in snapshot ([0-9a-f]{8})", find.stdout + find.stderr))
    assert held
    assert shared_agent.run("restic", "forget", *sorted(held)).returncode == 0
    assert shared_agent.run("restic", "prune").returncode == 0

    # 5. The check passes, backups report success again and the new one restores.
    assert shared_agent.ok("check", "--read-data-subset", "100%")["ok"] is True
    assert shared_agent.ok("backup")["short_id"]
    assert shared_agent.ok("drill")["keys"] >= 20
