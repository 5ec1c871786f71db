"""etcd.schedule and the other etcd tasks: a bad value, from an option or the inventory,
ends the task with exit status 2 and one sentence before any host is touched."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from invoke import Context, Exit

from kubeprimer.tasks import etcd as etcd_tasks


def _inventory(tmp_path: Path, **values: object) -> str:
    hosts = {"cp1": {"ansible_host": "10.0.0.1"}}
    body = {
        "all": {
            "vars": values,
            "children": {
                "kube_control_plane": {"hosts": hosts},
                "etcd": {"hosts": {"cp1": {}}},
                "backup": {"hosts": {"b1": {"ansible_host": "10.0.0.9"}}},
            },
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(body))
    return str(path)


@pytest.fixture
def no_host_touched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    played: list[str] = []

    def play_on(_c: Any, playbook: str, *_args: Any, **_kwargs: Any) -> None:
        played.append(playbook)

    monkeypatch.setattr(etcd_tasks, "play_on", play_on)
    return played


needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="needs systemd-analyze"
)


@needs_systemd
def test_a_calendar_systemd_cannot_read_is_exit_2(
    tmp_path: Path, no_host_touched: list[str]
) -> None:
    with pytest.raises(Exit) as raised:
        etcd_tasks.schedule(Context(), every="every minute", inventory=_inventory(tmp_path))

    assert raised.value.code == 2
    assert str(raised.value.message).startswith("error: --every 'every minute' is not")
    assert no_host_touched == []


@needs_systemd
def test_a_bad_calendar_in_the_inventory_is_exit_2(
    tmp_path: Path, no_host_touched: list[str]
) -> None:
    inventory = _inventory(tmp_path, etcd_backup_drill_on_calendar="every minute")

    with pytest.raises(Exit) as raised:
        etcd_tasks.schedule(Context(), inventory=inventory)

    assert raised.value.code == 2
    assert str(raised.value.message).count("\n") == 0
    assert "etcd_backup_drill_on_calendar 'every minute' (for cp1)" in str(raised.value.message)
    assert no_host_touched == []


def test_options_that_keep_nothing_with_the_inventory_are_exit_2(
    tmp_path: Path, no_host_touched: list[str]
) -> None:
    inventory = _inventory(tmp_path, etcd_backup_keep_daily=0, etcd_backup_keep_weekly=0)

    with pytest.raises(Exit) as raised:
        etcd_tasks.schedule(Context(), keep_hourly="0", inventory=inventory)

    assert raised.value.code == 2
    assert "keep at least one backup" in str(raised.value.message)
    assert no_host_touched == []


def test_good_options_run_the_playbook(tmp_path: Path, no_host_touched: list[str]) -> None:
    etcd_tasks.schedule(
        Context(), every="daily", check_subset="1/7", inventory=_inventory(tmp_path)
    )

    assert no_host_touched == ["etcd_schedule.yml"]


def test_scheduling_without_a_backup_host_is_exit_2(
    tmp_path: Path, no_host_touched: list[str]
) -> None:
    path = Path(_inventory(tmp_path))
    body = yaml.safe_load(path.read_text())
    del body["all"]["children"]["backup"]
    path.write_text(yaml.safe_dump(body))

    with pytest.raises(Exit) as raised:
        etcd_tasks.schedule(Context(), inventory=str(path))

    assert raised.value.code == 2 and "no backup host" in str(raised.value.message)
    assert no_host_touched == []
    etcd_tasks.list_(Context(), inventory=str(path))
    assert no_host_touched == ["etcd_list.yml"]
