"""cluster.upgrade's backup gate: refused without a backup target unless --no-backup, and
otherwise a backup taken by etcd.backup's code, then a restore drill of that very backup
by etcd.verify's code (both replaced here by recorders; they are tested in tests/*/etcd)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from invoke import Exit
from rich.console import Console

from kubeprimer import inventory
from kubeprimer.errors import UserError
from kubeprimer.tasks import etcd
from kubeprimer.upgrade import backup_gate


def lab(tmp_path: Path, backup: bool = True, **settings: Any) -> inventory.Inventory:
    hosts: dict[str, Any] = {"cp1": {"ansible_host": "10.0.0.11"}}
    children: dict[str, Any] = {
        "kube_control_plane": {"hosts": {"cp1": None}},
        "etcd": {"hosts": {"cp1": None}},
    }
    if backup:
        hosts["store"] = {"ansible_host": "10.0.0.20"}
        children["backup"] = {"hosts": {"store": None}}
    path = tmp_path / "hosts.yml"
    path.write_text(
        yaml.safe_dump({"all": {"hosts": hosts, "children": children, "vars": settings}})
    )
    return inventory.load_valid(path)


def test_no_backup_target_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(UserError) as refused:
        backup_gate.check(lab(tmp_path, backup=False), no_backup=False)
    (sentence,) = refused.value.messages
    assert "backups are not configured" in sentence
    assert "group backup" in sentence and "--no-backup" in sentence


def test_no_backup_skips_the_gate_even_without_a_target(tmp_path: Path) -> None:
    assert backup_gate.check(lab(tmp_path, backup=False), no_backup=True) is False


def test_a_backup_host_or_an_s3_target_passes(tmp_path: Path) -> None:
    assert backup_gate.check(lab(tmp_path), no_backup=False) is True
    s3 = lab(
        tmp_path,
        backup=False,
        etcd_backup_target="s3",
        etcd_backup_s3_endpoint="https://s3.example.net",
        etcd_backup_s3_bucket="backups",
    )
    assert backup_gate.check(s3, no_backup=False) is True


def test_bad_backup_settings_are_refused_as_etcd_backup_refuses_them(tmp_path: Path) -> None:
    with pytest.raises(UserError) as refused:
        backup_gate.check(lab(tmp_path, etcd_backup_on_calendar="now and then"), no_backup=False)
    assert "etcd_backup_on_calendar" in str(refused.value)


class Etcd:
    """Records the gate's calls to etcd.backup's and etcd.verify's code."""

    def __init__(self, stored: Any, drilled: Any) -> None:
        self.stored, self.drilled, self.calls = stored, drilled, []

    def take_backup(self, c: Any, given: str | None, json: bool = False) -> Any:
        self.calls.append(("backup", given))
        return self.stored

    def drill(self, c: Any, chosen: str | None, given: str | None, json: bool = False) -> Any:
        self.calls.append(("drill", chosen))
        return self.drilled


def gate(monkeypatch: pytest.MonkeyPatch, fake: Etcd) -> tuple[str, str]:
    monkeypatch.setattr(etcd, "take_backup", fake.take_backup)
    monkeypatch.setattr(etcd, "drill", fake.drill)
    out = Console(file=io.StringIO(), width=200)
    backup = backup_gate.take(None, "inv/hosts.yml", out)
    file: Any = out.file
    return backup, str(file.getvalue())


def test_the_backup_just_taken_is_the_one_drilled(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = Etcd({"id": "4f2a9c1e" + "0" * 56, "short_id": "4f2a9c1e"}, {"keys": 12, "revision": 7})
    backup, said = gate(monkeypatch, fake)
    assert backup == "4f2a9c1e"
    assert fake.calls == [("backup", "inv/hosts.yml"), ("drill", "4f2a9c1e" + "0" * 56)]
    assert "backup 4f2a9c1e restores (12 keys at revision 7)" in said


@pytest.mark.parametrize(
    ("stored", "drilled", "sentence"),
    [
        (None, None, "stored no backup, so the upgrade did not start"),
        ({"id": "ab12cd34", "short_id": "ab12cd34"}, None, "drill of backup ab12cd34 gave no"),
    ],
    ids=["no-backup-stored", "no-drill-result"],
)
def test_no_proven_backup_no_upgrade(
    monkeypatch: pytest.MonkeyPatch, stored: Any, drilled: Any, sentence: str
) -> None:
    with pytest.raises(Exit) as stopped:
        gate(monkeypatch, Etcd(stored, drilled))
    assert stopped.value.code == 1
    assert sentence in str(stopped.value.message)
