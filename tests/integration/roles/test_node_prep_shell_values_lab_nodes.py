"""node_prep on a lab node over SSH: a kernel module name that carries a shell command
is refused by the role's preflight, in check mode and for real, before anything runs
on the node, and the command it carries never runs; a proxy_no_proxy entry that would
add a variable to the services' environment file is refused the same way."""

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


def test_node_prep_refuses_a_no_proxy_entry_that_adds_an_environment_line(
    lab: RunningLab, tmp_path: Path
) -> None:
    node = lab.nodes[0]
    crafted = "10.0.0.0/8\nLD_PRELOAD=/tmp/kubeprimer-evil.so"
    done = play_roles(
        lab.inventory,
        node,
        [("kube_defaults", "main"), ("node_prep", "preflight"), ("node_prep", "configure")],
        tmp_path,
        "-e",
        json.dumps({"proxy_no_proxy": [crafted]}),
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert "proxy_no_proxy must list host names, domains, addresses or CIDRs" in output
    environment = lab.ssh(node, "cat /etc/kubeprimer/proxy.env /etc/environment", check=False)
    assert "LD_PRELOAD" not in environment.stdout
