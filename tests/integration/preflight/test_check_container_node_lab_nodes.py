"""cluster.check's container-node checks (``ctr``) against real systemd-nspawn lab nodes,
whose inventory says they are containers: a fresh node passes (readable /dev/kmsg,
writable cgroups, the container settings in effect); a node whose /dev/kmsg is gone fails
with the fix sentence."""

from __future__ import annotations

import json
import subprocess

import pytest

from kubeprimer.inventory import load
from kubeprimer.lab import node
from tests.integration.conftest import RunningLab
from tests.integration.preflight.test_check_on_lab_nodes import invoke

pytestmark = pytest.mark.integration


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return invoke("cluster.check", *args)


def test_lab_nodes_pass_and_a_node_without_kmsg_fails_with_the_fix(lab: RunningLab) -> None:
    if not node.KMSG.exists():
        pytest.skip("this host has no /dev/kmsg to give its lab nodes")
    assert load(lab.inventory).hosts[lab.nodes[0]].vars["kube_node_in_container"] is True

    done = check("-i", str(lab.inventory), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    for host in report["hosts"]:
        ctr = host["checks"]["ctr"]
        assert ctr["status"] == "pass", host
        assert ctr["detail"] == "systemd-nspawn: /dev/kmsg, writable cgroups, container settings"

    victim = lab.nodes[-1]
    # Booted nodes have it bind-mounted; one this test restored has a device node.
    lab.ssh(victim, "umount /dev/kmsg 2>/dev/null; rm -f /dev/kmsg && test ! -e /dev/kmsg")
    try:
        done = check("-i", str(lab.inventory))
        assert done.returncode == 1, done.stdout + done.stderr
        assert (
            f"✗ {victim} ctr: /dev/kmsg missing. Fix: Give the node the host's /dev/kmsg, "
            "which kubelet reads (lab nodes get it when they boot: invoke lab.down, then "
            "invoke lab.up)." in done.stdout
        ), done.stdout
        others = [n for n in lab.nodes if n != victim]
        assert not any(f"✗ {n} " in done.stdout for n in others), done.stdout
    finally:
        # The same device the node booted with: the kernel's fixed number for /dev/kmsg.
        lab.ssh(victim, "test -e /dev/kmsg || mknod -m 644 /dev/kmsg c 1 11")
