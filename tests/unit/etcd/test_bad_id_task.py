"""An unknown backup ID, found on the hosts, ends etcd.verify and etcd.restore with exit
status 2 and the agent's sentence, not a playbook failure with advice to run it again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from invoke import Context, Exit

from kubeprimer.tasks import etcd as etcd_tasks

UNKNOWN = "backup ID deadbeef does not exist; list the backups with 'invoke etcd.list'."


def _hosts_answer(monkeypatch: pytest.MonkeyPatch, code: int) -> list[str]:
    """The playbook as the hosts end it: the agent's reason in the report file, then a failure."""
    played: list[str] = []

    def play_on(_c: Any, playbook: str, _inv: Any, **options: Any) -> None:
        played.append(playbook)
        report = Path(options["extravars"]["etcd_backup_report_file"])
        report.write_text(json.dumps({"failed": {"code": code, "error": UNKNOWN}}))
        raise Exit(f"{playbook} did not complete; the failing tasks are listed above.", code=1)

    monkeypatch.setattr(etcd_tasks, "load_inventory", lambda _c, _given: object())
    monkeypatch.setattr("kubeprimer.etcd.settings.check", lambda *_a, **_k: None)
    monkeypatch.setattr(etcd_tasks, "play_on", play_on)
    return played


def test_verify_of_an_unknown_id_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    _hosts_answer(monkeypatch, 2)

    with pytest.raises(Exit) as raised:
        etcd_tasks.verify(Context(), snapshot="deadbeef", inventory="inv/prod")

    assert raised.value.code == 2
    assert raised.value.message == f"error: {UNKNOWN}"


def test_restore_of_an_unknown_id_is_exit_2_without_advice_to_run_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    played = _hosts_answer(monkeypatch, 2)

    with pytest.raises(Exit) as raised:
        etcd_tasks.restore(Context(), snapshot="deadbeef", yes=True, inventory="inv/prod")

    assert played == ["etcd_restore.yml"]
    assert raised.value.code == 2
    assert raised.value.message == f"error: {UNKNOWN}"


def test_a_failure_on_the_hosts_keeps_its_status_and_advice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hosts_answer(monkeypatch, 1)

    with pytest.raises(Exit) as raised:
        etcd_tasks.restore(Context(), snapshot="deadbeef", yes=True, inventory="inv/prod")

    assert raised.value.code == 1 and "again to finish the restore" in str(raised.value.message)


def test_a_backup_stored_while_a_member_was_unreachable_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The backup runs on the first member that answers; a dead one must not hide it."""
    stored = {
        "short_id": "1a2b3c4d",
        "revision": 42,
        "size": 4096,
        "endpoint": "e",
        "duration_seconds": 1,
    }

    def play_on(_c: Any, playbook: str, _inv: Any, **options: Any) -> None:
        Path(options["extravars"]["etcd_backup_report_file"]).write_text(json.dumps(stored))
        raise Exit(f"{playbook} did not complete; a host was unreachable.", code=3)

    monkeypatch.setattr(etcd_tasks, "load_inventory", lambda _c, _given: object())
    monkeypatch.setattr("kubeprimer.etcd.settings.check", lambda *_a, **_k: None)
    monkeypatch.setattr(etcd_tasks, "play_on", play_on)

    with pytest.raises(Exit) as raised:
        etcd_tasks.backup(Context(), inventory="inv/prod")

    assert raised.value.code == 3
    assert "Stored backup 1a2b3c4d: revision 42" in capsys.readouterr().out
    assert str(raised.value.message).startswith("The backup 1a2b3c4d is stored, but ")
