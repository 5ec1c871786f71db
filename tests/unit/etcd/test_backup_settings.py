"""Inventory values that reach the hosts' command lines are refused before any host is touched."""

from __future__ import annotations

import shutil
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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # A trailing newline passes a pattern that ends in '$'.
        ("etcd_backup_sftp_user", "backup\n"),
        ("etcd_backup_sftp_base_dir", "/srv/backup\n"),
        ("etcd_backup_sftp_address", "10.0.0.9\n"),
        ("etcd_backup_on_calendar", "daily; rm -rf /"),
        ("etcd_backup_check_on_calendar", "daily\n[Service]\nExecStart=/bin/id"),
        ("etcd_backup_drill_on_calendar", "weekly$(id)"),
        ("etcd_backup_check_read_data_subset", "0%"),
        ("etcd_backup_check_read_data_subset", "150%"),
        ("etcd_backup_check_read_data_subset", "5/3"),
        ("etcd_backup_keep_daily", -1),
        ("etcd_backup_keep_daily", "7; reboot"),
        ("etcd_backup_keep_hourly", True),
        ("etcd_backup_target", "ftp"),
        ("etcd_backup_textfile_dir", "/var/lib/x\nExecStartPre=/bin/id"),
        ("etcd_backup_data_dir", "var/lib/etcd"),
        ("etcd_backup_etcd_version", "../../../usr/local"),
        ("etcd_backup_etcd_client_port", "2379,https://203.0.113.9:2379"),
        ("etcd_backup_lock_wait_seconds", "soon"),
    ],
)
def test_every_setting_of_the_role_is_checked_before_a_run(
    tmp_path: Path, name: str, value: object
) -> None:
    inv = load(_inventory(tmp_path, **{name: value}))

    with pytest.raises(UserError) as raised:
        settings.check(inv)

    assert len(raised.value.messages) == 1
    assert raised.value.messages[0].startswith(f"{name} ")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_a_calendar_systemd_cannot_read_is_refused(tmp_path: Path) -> None:
    inv = load(_inventory(tmp_path, etcd_backup_on_calendar="every minute"))

    with pytest.raises(UserError, match=r"^etcd_backup_on_calendar 'every minute'"):
        settings.check(inv)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("etcd_backup_s3_endpoint", "s3.example.net"),
        ("etcd_backup_s3_endpoint", "https://s3.example.net/\nx"),
        ("etcd_backup_s3_bucket", "Bad Bucket; id"),
        ("etcd_backup_s3_bucket", ""),
    ],
)
def test_s3_values_are_checked_for_an_s3_target(tmp_path: Path, name: str, value: str) -> None:
    good = {"etcd_backup_s3_endpoint": "https://s3.example.net", "etcd_backup_s3_bucket": "etcd"}
    inv = load(_inventory(tmp_path, etcd_backup_target="s3", **{**good, name: value}))

    with pytest.raises(UserError) as raised:
        settings.check(inv)

    assert [m.split(" ")[0] for m in raised.value.messages] == [name]


def test_keeping_nothing_is_refused_with_the_options_of_this_run(tmp_path: Path) -> None:
    inv = load(_inventory(tmp_path, etcd_backup_keep_daily=0, etcd_backup_keep_weekly=0))
    settings.check(inv)

    with pytest.raises(UserError, match="keep at least one backup"):
        settings.check(inv, {"etcd_backup_keep_hourly": 0})


def test_options_of_this_run_override_the_inventory(tmp_path: Path) -> None:
    inv = load(_inventory(tmp_path, etcd_backup_on_calendar="daily; reboot"))

    settings.check(inv, {"etcd_backup_on_calendar": "hourly"})


def _without_backup_group(tmp_path: Path, **values: object) -> Path:
    path = _inventory(tmp_path, **values)
    body = yaml.safe_load(path.read_text())
    del body["all"]["children"]["backup"]
    path.write_text(yaml.safe_dump(body))
    return path


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "no backup host"),
        ({"etcd_backup_sftp_host": "nas9"}, "etcd_backup_sftp_host 'nas9' is not a host"),
        ({"etcd_backup_sftp_host": "cp2"}, "is an etcd member"),
    ],
)
def test_an_sftp_target_needs_a_backup_host_that_is_no_member(
    tmp_path: Path, values: dict[str, object], expected: str
) -> None:
    inv = load(_without_backup_group(tmp_path, **values))
    # Listing and drilling use what the hosts hold: the target is checked only to set up.
    settings.check(inv)

    with pytest.raises(UserError) as raised:
        settings.check(inv, sets_up=True)

    assert len(raised.value.messages) == 1 and expected in raised.value.messages[0]


def test_a_backup_host_on_a_member_when_allowed_and_an_s3_target_need_none(
    tmp_path: Path,
) -> None:
    allowed = {"etcd_backup_sftp_host": "cp2", "etcd_backup_allow_on_member": True}
    settings.check(load(_without_backup_group(tmp_path, **allowed)), sets_up=True)
    s3 = {"etcd_backup_s3_endpoint": "https://s3.example.net", "etcd_backup_s3_bucket": "etcd"}
    inv = load(_without_backup_group(tmp_path, etcd_backup_target="s3", **s3))
    settings.check(inv, sets_up=True)
