"""node_prep on a lab node over SSH: a kernel module name that carries a shell command
is refused by the role's preflight, in check mode and for real, before anything runs
on the node, and the command it carries never runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import RunningLab
from tests.integration.playbook import play_roles

pytestmark = pytest.mark.integration

MARKER = "/tmp/kubeprimer-node-prep-pwned"
CRAFTED = f"br_netfilter; touch {MARKER}"


@pytest.mark.parametrize("mode", [["--check"], []], ids=["check", "apply"])
def test_node_prep_refuses_a_module_name_carrying_a_command(
    lab: RunningLab, tmp_path: Path, mode: list[str]
) -> None:
    node = lab.nodes[0]
    lab.ssh(node, f"rm -f {MARKER}")
    done = play_roles(
        lab.inventory,
        node,
        [("node_prep", "preflight"), ("node_prep", "configure")],
        tmp_path,
        "-e",
        json.dumps({"node_prep_kernel_modules": [CRAFTED]}),
        *mode,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert "node_prep_kernel_modules must list kernel module names" in output, output[-3000:]
    assert lab.ssh(node, f"test -e {MARKER}", check=False).returncode == 1, "the command ran"
