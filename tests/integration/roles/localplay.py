"""Run a role's task files with ansible-playbook against this machine (connection local).

The role tests that need no lab node use this: the tasks touch only the temporary
folders the test hands them through variables.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.programs import run_playbook


def run_role(
    tmp_path: Path,
    role: str,
    parts: list[str],
    settings: dict[str, Any],
    groups: dict[str, list[str]] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Include ``role``'s task files ``parts`` in order, with ``settings`` as play vars.

    ``groups`` puts more (local) hosts into the inventory, for roles that look at a group;
    the play still runs on localhost only. ``check`` runs it in check mode.
    """
    steps = [
        {
            "name": f"{role} {part}",
            "ansible.builtin.include_role": {"name": role, "tasks_from": part},
        }
        for part in parts
    ]
    play = {"name": role, "hosts": "localhost", "gather_facts": False, "tasks": steps}
    addresses = {
        name: {h: f"192.0.2.{i + 10}" for i, h in enumerate(hosts)}
        for name, hosts in (groups or {}).items()
    }
    return run_plays(tmp_path, [play], settings, addresses, check=check)


def run_plays(
    tmp_path: Path,
    plays: list[dict[str, Any]],
    settings: dict[str, Any],
    groups: dict[str, dict[str, str]],
    extra_vars: dict[str, Any] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``plays`` with ``settings`` as the vars of every play and ``extra_vars`` as -e.

    ``groups`` maps each group to its (local) hosts and their ansible_host. Extra vars
    are how a test moves a role's internal paths (vars/main.yml, which outrank play
    vars) into its temporary folder.
    """
    play_vars = {"ansible_python_interpreter": sys.executable, **settings}
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{**play, "vars": play_vars} for play in plays]))
    local = {"ansible_connection": "local"}
    members = {
        name: {"hosts": {h: {**local, "ansible_host": address} for h, address in hosts.items()}}
        for name, hosts in groups.items()
    }
    inventory = {"all": {"hosts": {"localhost": local}, "children": members}}
    inventory_file = tmp_path / "hosts.yml"
    inventory_file.write_text(yaml.safe_dump(inventory))
    extra = tmp_path / "extra-vars.yml"
    extra.write_text(yaml.safe_dump(extra_vars or {}))
    return run_playbook(
        [
            "-i",
            str(inventory_file),
            "-e",
            f"@{extra}",
            str(playbook),
            *(["--check"] if check else []),
        ],
        env={"ANSIBLE_FACT_CACHING_CONNECTION": str(tmp_path / "facts")},
    )


def changed(result: subprocess.CompletedProcess[str]) -> int:
    """The changed= count of the play recap."""
    line = next(
        x for x in result.stdout.splitlines() if x.startswith("localhost") and "changed=" in x
    )
    return int(line.split("changed=")[1].split()[0])
