"""The per-node record of cluster.upgrade: private, written whole after each unit, keyed
by the inventory and the targets, closed at the end."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from kubeprimer.upgrade import record

TARGETS = {"kubernetes": "1.37.1", "etcd": None, "cni": "flannel v0.28.9", "containerd": "2.3.5"}


def test_units_are_written_at_once_to_a_private_file(tmp_path: Path) -> None:
    inventory = tmp_path / "prod" / "hosts.yml"
    opened = record.load(tmp_path / "runs", inventory, TARGETS)
    assert opened.replaced is None
    assert not opened.record.path.exists()  # reading a plan writes nothing
    opened.record.mark("apply")
    path = opened.record.path
    assert path.parent == tmp_path / "runs" / "upgrade"
    assert path.name.startswith("prod-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["done"] == ["apply"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_a_second_run_continues_the_same_record(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    first = record.load(tmp_path, inventory, TARGETS).record
    first.mark("apply")
    first.mark("node:w1")
    again = record.load(tmp_path, inventory, dict(TARGETS)).record
    assert again.done == ["apply", "node:w1"]
    assert again.is_done("node:w1") and not again.is_done("node:w2")


def test_other_targets_start_a_new_record_and_say_so(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    record.load(tmp_path, inventory, TARGETS).record.mark("node:w1")
    opened = record.load(tmp_path, inventory, {**TARGETS, "kubernetes": "1.37.2"})
    assert opened.record.done == []
    assert opened.replaced is not None
    assert "kubernetes 1.37.1" in opened.replaced and "kubernetes 1.37.2" in opened.replaced
    assert "new record" in opened.replaced


def test_a_closed_record_is_not_continued(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    done = record.load(tmp_path, inventory, TARGETS).record
    done.mark("apply")
    done.close()
    assert json.loads(done.path.read_text())["finished"] is True
    opened = record.load(tmp_path, inventory, TARGETS)
    assert opened.record.done == [] and opened.replaced is None


def test_each_inventory_has_its_own_record(tmp_path: Path) -> None:
    one = record.location(tmp_path, tmp_path / "a" / "hosts.yml")
    other = record.location(tmp_path, tmp_path / "b" / "hosts.yml")
    assert one != other


def test_an_unreadable_record_starts_over(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    path = record.location(tmp_path, inventory)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert record.load(tmp_path, inventory, TARGETS).record.done == []
