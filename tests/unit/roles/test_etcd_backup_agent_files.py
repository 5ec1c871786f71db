"""roles/etcd_backup ships every module of the backup agent's package, and nothing else.

The role's list of modules is derived from the package folder by an Ansible expression;
this evaluates that very expression with Ansible, in the role's folder as its tasks see
it, and compares the result with the package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from kubeprimer.paths import ANSIBLE_CFG, ROLES, ROOT

ROLE = ROLES / "etcd_backup"
AGENT = ROOT / "kubeprimer" / "etcd" / "agent"


def test_files_link_to_the_agent_package() -> None:
    assert (ROLE / "files" / "etcd_agent").resolve() == AGENT.resolve()


def test_install_copies_the_derived_module_list() -> None:
    install = yaml.safe_load((ROLE / "tasks" / "install.yml").read_text())
    copies = [t for t in install if "etcd_agent/{{ item }}" in str(t.get("ansible.builtin.copy"))]
    assert len(copies) == 1
    assert copies[0]["loop"] == "{{ _etcd_backup_agent_modules }}"


def test_module_list_is_every_python_file_of_the_package(tmp_path: Path) -> None:
    play = [
        {
            "name": "Show the agent's module list",
            "hosts": "localhost",
            "gather_facts": False,
            "vars_files": [str(ROLE / "vars" / "main.yml")],
            # The magic variable the role's own tasks get.
            "vars": {"role_path": str(ROLE), "etcd_backup_etcd_version": "0"},
            "tasks": [
                {
                    "name": "Write the list",
                    "ansible.builtin.copy": {
                        "content": "{{ _etcd_backup_agent_modules | to_json }}",
                        "dest": str(tmp_path / "modules.json"),
                        "mode": "0600",
                    },
                }
            ],
        }
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(tmp_path / "play.yml"),
        ],
        env={**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_CFG)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    shipped = json.loads((tmp_path / "modules.json").read_text())
    assert shipped == sorted(p.name for p in AGENT.glob("*.py"))
    assert "__main__.py" in shipped
