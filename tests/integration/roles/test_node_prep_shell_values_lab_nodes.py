"""node_prep on a lab node over SSH: a kernel module name that carries a shell command
is refused by the role's preflight, in check mode and for real, before anything runs
on the node, and the command it carries never runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ANSIBLE_CFG, ROLES, ROOT
from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

MARKER = "/tmp/kubeprimer-node-prep-pwned"
CRAFTED = f"br_netfilter; touch {MARKER}"


def play_node_prep(
    lab: RunningLab, tmp_path: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """The role's own task files, on the first node, with the crafted module list."""
    playbook = tmp_path / "node-prep.yml"
    steps = [
        {
            "name": f"node_prep {part}",
            "ansible.builtin.include_role": {"name": "node_prep", "tasks_from": part},
        }
        for part in ("preflight", "configure")
    ]
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "node_prep",
                    "hosts": lab.nodes[0],
                    "become": True,
                    "gather_facts": False,
                    "tasks": steps,
                }
            ]
        )
    )
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
        "ANSIBLE_ROLES_PATH": str(ROLES),
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "facts"),
        "ANSIBLE_NOCOLOR": "1",
    }
    settings = json.dumps({"node_prep_kernel_modules": [CRAFTED]})
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            str(lab.inventory),
            str(playbook),
            "-e",
            settings,
            *extra,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("mode", [["--check"], []], ids=["check", "apply"])
def test_node_prep_refuses_a_module_name_carrying_a_command(
    lab: RunningLab, tmp_path: Path, mode: list[str]
) -> None:
    node = lab.nodes[0]
    lab.ssh(node, f"rm -f {MARKER}")
    done = play_node_prep(lab, tmp_path, *mode)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert "node_prep_kernel_modules must list kernel module names" in output, output[-3000:]
    assert lab.ssh(node, f"test -e {MARKER}", check=False).returncode == 1, (
        "the crafted command ran"
    )
