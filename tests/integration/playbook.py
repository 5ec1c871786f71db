"""Run a play of role task files with ansible-playbook against an inventory (lab nodes
over SSH), the way cluster.up runs the roles: escalated, with the project's ansible.cfg."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from kubeprimer.paths import ANSIBLE_CFG, ROLES, ROOT


def play_roles(
    inventory: Path,
    hosts: str,
    steps: list[tuple[str, str]],
    workdir: Path,
    *extra: str,
) -> subprocess.CompletedProcess[str]:
    """Include each (role, task file) of ``steps`` in order on ``hosts``, with become."""
    tasks = [
        {
            "name": f"{role} {part}",
            "ansible.builtin.include_role": {"name": role, "tasks_from": part},
        }
        for role, part in steps
    ]
    playbook = workdir / "play.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "roles",
                    "hosts": hosts,
                    "become": True,
                    "gather_facts": False,
                    "tasks": tasks,
                }
            ]
        )
    )
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
        "ANSIBLE_ROLES_PATH": str(ROLES),
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(workdir / "facts"),
        "ANSIBLE_NOCOLOR": "1",
    }
    ansible_playbook = Path(sys.executable).with_name("ansible-playbook")
    return subprocess.run(
        [str(ansible_playbook), "-i", str(inventory), str(playbook), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
