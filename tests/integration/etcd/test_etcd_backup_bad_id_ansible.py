"""An unknown backup ID reaches the controller as the agent's refusal (status 2), so that
etcd.verify and etcd.restore end with exit status 2 (ansible-playbook running the role's
entry points on this machine, the real agent, restic and etcd)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubeprimer.errors import UserError
from kubeprimer.tasks.etcd import _refuse_bad_argument
from tests.integration.roles.localplay import run_plays

from .cluster import Cluster
from .conftest import Agent

pytestmark = pytest.mark.integration


def _entry_point(tmp_path: Path, agent: Agent, part: str, **settings: object) -> Path:
    """Run roles/etcd_backup tasks_from ``part`` with the agent of the test as its command."""
    command = agent.command(tmp_path)
    report = tmp_path / "report.json"
    play = {
        "name": "etcd_backup",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {
                "name": f"etcd_backup {part}",
                "ansible.builtin.include_role": {"name": "etcd_backup", "tasks_from": part},
            }
        ],
    }
    done = run_plays(
        tmp_path,
        [play],
        {"etcd_backup_report_file": str(report), **settings},
        {},
        extra_vars={"_etcd_backup_command": str(command)},
    )
    assert done.returncode != 0, done.stdout
    return report


@pytest.mark.parametrize(
    ("part", "settings"),
    [
        ("report", {"etcd_backup_agent_args": ["drill", "--snapshot", "deadbeef"]}),
        ("restore_stage", {"etcd_backup_restore_snapshot": "deadbeef"}),
    ],
)
def test_an_unknown_id_reaches_the_task_as_bad_input(
    tmp_path: Path,
    shared_cluster: Cluster,
    shared_agent: Agent,
    part: str,
    settings: dict[str, object],
) -> None:
    shared_agent.ok("backup")
    report = _entry_point(tmp_path, shared_agent, part, **settings)

    assert json.loads(report.read_text())["failed"]["code"] == 2
    with pytest.raises(UserError) as raised:
        _refuse_bad_argument(report)
    assert raised.value.messages == [
        "backup ID deadbeef does not exist; list the backups with 'invoke etcd.list'."
    ]
