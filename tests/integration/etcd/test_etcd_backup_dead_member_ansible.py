"""With the first etcd member dead, etcd.list and etcd.verify still answer from another
member (the real etcd_list and etcd_verify playbooks, the real agent, restic and etcd; the
dead member is an address where nothing listens)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ANSIBLE_CFG, PLAYBOOKS, ROLES

from .cluster import Cluster
from .conftest import Agent

pytestmark = pytest.mark.integration


def _play_with_a_dead_first_member(
    tmp_path: Path, agent: Agent, playbook: str, command: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    members = {
        # Listed first, as the member the timers, checks and drills run on.
        "dead": {"ansible_host": "192.0.2.1", "ansible_ssh_common_args": "-o ConnectTimeout=3"},
        "live": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"etcd": {"hosts": members}}}}))
    report = tmp_path / "report.json"
    extra = {
        "_etcd_backup_command": str(command or agent.command(tmp_path)),
        "etcd_backup_report_file": str(report),
    }
    done = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            str(inventory),
            str(PLAYBOOKS / playbook),
            "-e",
            json.dumps(extra),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_CFG), "ANSIBLE_ROLES_PATH": str(ROLES)},
    )
    return done, report


def test_list_and_verify_answer_from_a_live_member(
    tmp_path: Path, shared_cluster: Cluster, shared_agent: Agent
) -> None:
    shared_cluster.put("/registry/dead-member/known", "yes")
    stored = shared_agent.ok("backup")

    listed, report = _play_with_a_dead_first_member(tmp_path, shared_agent, "etcd_list.yml")

    assert listed.returncode == 0, listed.stdout + listed.stderr
    answer = json.loads(report.read_text())
    assert [b["short_id"] for b in answer["backups"]] == [stored["short_id"]]

    drilled, report = _play_with_a_dead_first_member(tmp_path, shared_agent, "etcd_verify.yml")

    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    assert json.loads(report.read_text())["short_id"] == stored["short_id"]


def test_list_where_the_agent_is_not_set_up_says_how_to_set_it_up(
    tmp_path: Path, shared_agent: Agent
) -> None:
    missing = tmp_path / "not-installed" / "kubeprimer-etcd-backup"

    listed, _report = _play_with_a_dead_first_member(
        tmp_path, shared_agent, "etcd_list.yml", command=missing
    )

    assert listed.returncode != 0
    said = " ".join(listed.stdout.split())
    assert "The backup agent is not set up on live; set it up first with etcd.schedule" in said
