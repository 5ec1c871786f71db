"""Run a play of role task files with ansible-playbook against an inventory (lab nodes
over SSH), the way cluster.up runs the roles: escalated, with the project's ansible.cfg."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.programs import run_playbook


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
    return run_playbook(
        ["-i", str(inventory), str(playbook), *extra],
        env={"ANSIBLE_CACHE_PLUGIN_CONNECTION": str(workdir / "facts")},
        timeout=600,
    )
