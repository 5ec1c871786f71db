"""etcd.list, etcd.backup and etcd.verify --json: the agent's answer alone on stdout.

The playbook run is replaced by a clearly named test double that writes the answer the
real playbooks write (their report file) and prints its progress where the task tells it
to; the real runs are in tests/integration/etcd/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from invoke import Program

from kubeprimer.tasks import etcd as etcd_tasks
from kubeprimer.tasks import ns

BACKUP = {
    "id": "1a2b3c4d" + "0" * 56,
    "short_id": "1a2b3c4d",
    "time": "2026-11-30T10:00:00.5Z",
    "host": "cp1",
    "revision": 42,
    "size": 4096,
    "etcd_version": "3.5.1",
    "keys": 7,
}
ANSWERS = {
    "etcd_list.yml": {
        "backups": [BACKUP],
        "check": {"ok": True, "at": 1795000000.0},
        "drill": None,
    },
    "etcd_backup.yml": {
        "short_id": "1a2b3c4d",
        "revision": 42,
        "size": 4096,
        "endpoint": "https://cp1:2379",
        "duration_seconds": 1.5,
    },
    "etcd_verify.yml": {
        "short_id": "1a2b3c4d",
        "revision": 42,
        "keys": 7,
        "hash": 123,
        "etcd_version": "3.5.1",
        "drill_seconds": 2.5,
    },
}


def fake_play(c: Any, playbook: str, inventory: str | None, **options: Any) -> None:
    """Test double of the playbook run: progress to the task's console, then the answer."""
    options["console"].print(f"PLAY {playbook}")
    Path(options["extravars"]["etcd_backup_report_file"]).write_text(json.dumps(ANSWERS[playbook]))


@pytest.mark.parametrize(
    ("task", "playbook", "expected"),
    [
        ("etcd.list", "etcd_list.yml", ANSWERS["etcd_list.yml"]),
        ("etcd.backup", "etcd_backup.yml", ANSWERS["etcd_backup.yml"]),
        ("etcd.verify", "etcd_verify.yml", ANSWERS["etcd_verify.yml"]),
    ],
)
def test_json_is_alone_on_stdout(
    task: str,
    playbook: str,
    expected: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(etcd_tasks, "_play", fake_play)
    Program(namespace=ns, name="invoke", binary="invoke").run(
        ["invoke", task, "--json"], exit=False
    )
    out, err = capsys.readouterr()
    assert json.loads(out) == expected
    assert f"PLAY {playbook}" in err


def test_without_json_the_list_is_a_table_and_the_health_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(etcd_tasks, "_play", fake_play)
    Program(namespace=ns, name="invoke", binary="invoke").run(["invoke", "etcd.list"], exit=False)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "PLAY etcd_list.yml"
    assert lines[1] == "etcd backups (1)"
    assert lines[2].split() == ["ID", "TIME", "SIZE", "REVISION", "KEYS", "HOST", "ETCD"]
    assert lines[3].startswith("1a2b3c4d ")
    assert lines[4].startswith("Repository check: passed at ")
