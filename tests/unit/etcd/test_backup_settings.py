"""Inventory values that reach the hosts' command lines are refused before any host is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubeprimer.errors import UserError
from kubeprimer.etcd import settings
from kubeprimer.etcd.agent.restic import sftp_command
from kubeprimer.etcd.agent.run import BAD_INPUT, AgentError
from kubeprimer.inventory.model import load


def _inventory(tmp_path: Path, **values: object) -> Path:
    hosts = {"cp1": {"ansible_host": "10.0.0.1"}, "cp2": {"ansible_host": "10.0.0.2"}}
    body = {
        "all": {
            "vars": values,
            "children": {
                "kube_control_plane": {"hosts": hosts},
                "etcd": {"hosts": {name: {} for name in hosts}},
                "backup": {"hosts": {"b1": {"ansible_host": "10.0.0.9"}}},
            },
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(body))
    return path


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("etcd_backup_sftp_address", "host; touch /tmp/pwned"),
        ("etcd_backup_sftp_address", "10.0.0.9 -oProxyCommand=touch${IFS}/tmp/pwned"),
        ("etcd_backup_sftp_address", "-oProxyCommand=id"),
        ("etcd_backup_sftp_user", "backup -oProxyCommand=id"),
        ("etcd_backup_sftp_base_dir", "/srv/../etc"),
        ("etcd_backup_sftp_base_dir", "relative"),
        ("etcd_backup_sftp_port", "22 -oProxyCommand=id"),
    ],
)
def test_a_crafted_value_is_one_sentence_naming_it(tmp_path: Path, name: str, value: str) -> None:
    inv = load(_inventory(tmp_path, **{name: value}))

    with pytest.raises(UserError) as raised:
        settings.check(inv)

    assert len(raised.value.messages) == 1
    assert raised.value.exit_code == BAD_INPUT
    message = raised.value.messages[0]
    assert message.startswith(f"{name} ") and "cp1, cp2" in message and "fix it" in message


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"etcd_backup_sftp_address": "backup-1.example.net", "etcd_backup_sftp_port": 2222},
        {"etcd_backup_sftp_address": "10.0.0.9", "etcd_backup_sftp_base_dir": "/srv/kp-backup"},
        {"etcd_backup_sftp_address": "{{ hostvars['b1'].ansible_host }}"},
    ],
)
def test_plain_values_pass(tmp_path: Path, values: dict[str, object]) -> None:
    settings.check(load(_inventory(tmp_path, **values)))


def test_the_ssh_command_reaches_restic_one_argument_per_element() -> None:
    argv = ["ssh", "-p", "22", "--", "kubeprimer-backup@10.0.0.9 -oProxyCommand=id", "-s", "sftp"]

    assert sftp_command(argv) == (
        "'ssh' '-p' '22' '--' 'kubeprimer-backup@10.0.0.9 -oProxyCommand=id' '-s' 'sftp'"
    )
    for breaking in ("a'b", 'a"b', "a,b", "a\nb"):
        with pytest.raises(AgentError) as raised:
            sftp_command(["ssh", breaking])
        assert raised.value.code == BAD_INPUT
