"""Each fault gives one clear sentence and leaves earlier backups intact (real etcd, restic)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .cluster import Cluster, free_port
from .conftest import Agent

pytestmark = pytest.mark.integration


def _one_backup(cluster: Cluster, agent: Agent) -> dict[str, object]:
    cluster.put("/registry/before", "kept")
    stored: dict[str, object] = agent.ok("backup")
    return stored


def _still_there(agent: Agent, stored: dict[str, object]) -> None:
    ids = [s["id"] for s in agent.ok("list")]
    assert any(i.startswith(str(stored["id"])) for i in ids)


def test_wrong_repository_password_is_named_and_backups_survive(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    stored = _one_backup(shared_cluster, shared_agent)
    wrong = shared_agent.root / "wrong-password"
    wrong.write_text("not the password\n")
    wrong.chmod(0o600)

    done = shared_agent.run("backup", password_file=str(wrong))

    assert done.returncode == 1
    assert "could not open" in done.stderr and "password" in done.stderr
    assert "Traceback" not in done.stderr
    _still_there(shared_agent, stored)
    metric = (shared_agent.root / "textfile" / "kubeprimer_etcd_backup.prom").read_text()
    assert 'kubeprimer_etcd_backup_last_success{host="m1"} 0' in metric
    assert "kubeprimer_etcd_backup_last_success_timestamp_seconds" in metric


def test_unreachable_backup_target_is_named(shared_cluster: Cluster, shared_agent: Agent) -> None:
    stored = _one_backup(shared_cluster, shared_agent)
    closed = free_port()
    ssh = f"ssh -p {closed} -o BatchMode=yes -o ConnectTimeout=5 nobody@127.0.0.1 -s sftp"

    done = shared_agent.run(
        "backup", repository=f"sftp:nobody@127.0.0.1:{closed}/repo", sftp_command=ssh
    )

    assert done.returncode == 1
    assert "cannot be reached" in done.stderr
    _still_there(shared_agent, stored)


def test_a_member_down_backup_uses_another(cluster: Cluster, agent: Agent) -> None:
    cluster.put("/registry/k", "v")
    cluster.stop(cluster.members[0])

    stored = agent.ok("backup")

    assert stored["endpoint"] != cluster.members[0].client_url
    assert stored["endpoint"] in cluster.endpoints


def test_no_healthy_member_takes_no_backup(cluster: Cluster, agent: Agent) -> None:
    cluster.stop_all()

    done = agent.run("backup")

    assert done.returncode == 1
    assert "no etcd member is healthy" in done.stderr
    assert agent.ok("list") == []


def test_a_corrupted_backup_is_caught_by_the_drill(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    stored = _one_backup(shared_cluster, shared_agent)
    packs = sorted((Path(shared_agent.settings["repository"]) / "data").rglob("*"), key=_size)
    biggest = packs[-1]
    biggest.chmod(0o644)
    raw = bytearray(biggest.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    biggest.write_bytes(bytes(raw))

    done = shared_agent.run("drill", "--snapshot", str(stored["short_id"]))

    assert done.returncode == 1
    assert "damaged" in done.stderr or "corrupt" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_restoring_an_unknown_id_says_so_before_touching_anything(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    stored = _one_backup(shared_cluster, shared_agent)

    done = shared_agent.run("stage-restore", "--snapshot", "deadbeef")

    assert done.returncode == 2
    assert "backup ID deadbeef does not exist" in done.stderr
    assert shared_cluster.get("/registry/before") == "kept"
    _still_there(shared_agent, stored)


def test_drill_restores_into_a_throwaway_etcd_and_checks_it(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    for i in range(30):
        shared_cluster.put(f"/registry/d/{i}", "x" * 100)
    stored = shared_agent.ok("backup")

    report = shared_agent.ok("drill")

    assert report["ok"] is True
    assert report["short_id"] == stored["short_id"]
    assert report["revision"] == stored["revision"]
    assert report["keys"] == stored["keys"] >= 30
    assert 0 < report["drill_seconds"] < 60


def test_retention_prunes_to_the_configured_count(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    for i in range(4):
        shared_cluster.put("/registry/counter", str(i))
        shared_agent.ok("backup", keep={"last": 2})

    kept = shared_agent.ok("list")

    assert len(kept) == 2
    assert [s["revision"] for s in kept] == sorted(s["revision"] for s in kept)


def test_a_timer_run_skips_when_another_member_just_backed_up(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    stored = _one_backup(shared_cluster, shared_agent)

    skipped = shared_agent.ok("backup", "--scheduled", fresh_seconds=600, host="m2")

    assert skipped["skipped"] is True and skipped["id"].startswith(stored["id"])
    assert len(shared_agent.ok("list")) == 1
    done = shared_agent.ok("backup", "--scheduled", fresh_seconds=0, host="m2")
    assert done["host"] == "m2" and len(shared_agent.ok("list")) == 2


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def test_list_reports_time_size_revision_and_host(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    stored = _one_backup(shared_cluster, shared_agent)

    listed = shared_agent.ok("list")

    assert len(listed) == 1
    entry = listed[0]
    assert entry["host"] == "m1" and entry["revision"] == stored["revision"]
    assert entry["size"] == stored["size"] and entry["time"]
    json.dumps(entry)


def test_a_rerun_restore_uses_the_staged_backup_while_the_target_is_down(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    """A restore that stopped part-way is finished by a re-run even if the backup host is gone."""
    short_id = str(_one_backup(shared_cluster, shared_agent)["short_id"])
    first = shared_agent.ok("stage-restore", "--snapshot", short_id)
    repository = Path(shared_agent.settings["repository"])
    gone = repository.with_name("repo-gone")
    repository.rename(gone)
    try:
        again = shared_agent.ok("stage-restore", "--snapshot", short_id)

        assert again == first
        staged = json.loads((shared_agent.root / "state" / "restore" / "staged.json").read_text())
        # A staged copy that no longer matches its checksum is never used: fetched again.
        Path(staged["file"]).write_bytes(b"damaged")
        damaged = shared_agent.run("stage-restore", "--snapshot", short_id)

        assert damaged.returncode == 1 and "Traceback" not in damaged.stderr
        assert "there is no restic repository" in damaged.stderr
    finally:
        gone.rename(repository)


def test_drilling_an_unknown_id_is_bad_input_and_records_no_failed_drill(
    shared_cluster: Cluster, shared_agent: Agent
) -> None:
    """A typo in 'etcd.verify --snapshot' must not fire the EtcdBackupDrillFailed alert."""
    _one_backup(shared_cluster, shared_agent)
    shared_agent.ok("drill", "--no-repo-check")
    metrics = shared_agent.root / "textfile" / "kubeprimer_etcd_backup.prom"
    before = metrics.read_text()

    done = shared_agent.run("drill", "--snapshot", "deadbeef")

    assert done.returncode == 2
    assert "backup ID deadbeef does not exist" in done.stderr
    assert metrics.read_text() == before
    assert shared_agent.ok("list", "--status")["drill"]["ok"] is True


def test_a_backup_of_an_etcd_never_written_to_passes_its_drill(
    cluster: Cluster, agent: Agent
) -> None:
    """A new cluster's first backup (revision 0): the restored etcd starts at revision 1."""
    stored = agent.ok("backup")
    assert stored["revision"] == 0

    drilled = agent.run("drill", "--no-repo-check")

    assert drilled.returncode == 0, drilled.stderr
