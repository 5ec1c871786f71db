"""A task whose playbook acts on a group refuses an inventory where that group is empty,
with exit status 2 and one sentence naming the group, before any playbook runs. Ansible
itself would match no hosts, do nothing and end with status 0."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from invoke import Context, Exit

from kubeprimer.tasks import _common, addons, etcd, vault

# A valid stacked cluster: etcd runs on the control plane, yet the etcd group is empty.
INVENTORY = {
    "all": {
        "vars": {
            "storage_server": "nfs",
            "etcd_backup_target": "s3",
            "etcd_backup_s3_endpoint": "https://s3.example.net",
            "etcd_backup_s3_bucket": "etcd-backups",
        },
        "children": {
            "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "10.0.0.1"}}},
            "kube_node": {"hosts": {"w1": {"ansible_host": "10.0.0.2"}}},
            "etcd": {"hosts": {}},
            "vault": {"hosts": {}},
            "storage": {"hosts": {}},
        },
    }
}

CASES: list[tuple[str, Callable[..., None], dict[str, Any], str]] = [
    ("vault.install", vault.install, {}, "vault"),
    ("addons.storage", addons.storage, {}, "storage"),
    ("etcd.backup", etcd.backup, {}, "etcd"),
    ("etcd.schedule", etcd.schedule, {}, "etcd"),
    ("etcd.list", etcd.list_, {}, "etcd"),
    ("etcd.verify", etcd.verify, {}, "etcd"),
    ("etcd.restore", etcd.restore, {"snapshot": "0123abcd", "yes": True}, "etcd"),
]


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    def ran(playbook: str, *_args: Any, **_kwargs: Any) -> None:
        raise AssertionError(f"{playbook} ran on an inventory it cannot act on")

    monkeypatch.setattr(_common, "run_playbook", ran)
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(INVENTORY))
    return str(path)


@pytest.mark.parametrize(("name", "body", "options", "group"), CASES, ids=[c[0] for c in CASES])
def test_an_empty_group_is_one_sentence_and_nothing_runs(
    inventory: str, name: str, body: Callable[..., None], options: dict[str, Any], group: str
) -> None:
    with pytest.raises(Exit) as caught:
        body(Context(), inventory=inventory, **options)
    assert caught.value.code == 2
    lines = str(caught.value.message).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: The inventory has no hosts in group {group};"), lines
