"""roles/etcd_backup ships every module of the backup agent's package, and nothing else.

The role's list of modules is derived from the package folder by an Ansible expression;
this runs the role's own copy task in check mode and compares its items with the package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from kubeprimer.paths import ROLES, ROOT
from tests.programs import run_playbook

ROLE = ROLES / "etcd_backup"
AGENT = ROOT / "kubeprimer" / "etcd" / "agent"
AGENT_TASK = "Install the backup agent"


def test_files_link_to_the_agent_package() -> None:
    assert (ROLE / "files" / "etcd_agent").resolve() == AGENT.resolve()


def test_install_copies_the_derived_module_list() -> None:
    install = yaml.safe_load((ROLE / "tasks" / "install.yml").read_text())
    copies = [t for t in install if "etcd_agent/{{ item }}" in str(t.get("ansible.builtin.copy"))]
    assert len(copies) == 1
    assert copies[0]["loop"] == "{{ _etcd_backup_agent_modules }}"


def test_the_role_copies_every_python_file_of_the_package(tmp_path: Path) -> None:
    # The role's own install tasks, from the agent's copy on, in check mode on this
    # machine: nothing is written, and the loop's items are what a real run copies.
    (tmp_path / "play.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Install the agent, in check mode",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Import the install tasks",
                            "ansible.builtin.import_role": {
                                "name": "etcd_backup",
                                "tasks_from": "install",
                            },
                        }
                    ],
                }
            ]
        )
    )
    done = run_playbook(
        [
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "--check",
            "--start-at-task",
            AGENT_TASK,
            str(tmp_path / "play.yml"),
        ],
        env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    tasks = json.loads(done.stdout)["plays"][0]["tasks"]
    copy = next(t for t in tasks if t["task"]["name"] == f"etcd_backup : {AGENT_TASK}")
    shipped = [r["item"] for r in copy["hosts"]["localhost"]["results"]]
    assert shipped == sorted(p.name for p in AGENT.glob("*.py"))
    assert "__main__.py" in shipped
