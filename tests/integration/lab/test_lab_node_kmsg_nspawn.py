"""A freshly booted lab node has the /dev/kmsg kubelet's OOM watcher reads, and cannot
write into the host's kernel log through it (systemd-nspawn nodes)."""

from __future__ import annotations

import pytest

from kubeprimer.lab import node
from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

OPEN = (
    "python3 -c 'import os, sys; "
    'fd = os.open("/dev/kmsg", getattr(os, sys.argv[1]) | os.O_NONBLOCK); '
    'print(sys.argv[1], "opened")\' {}'
)


def test_fresh_node_reads_the_kernel_log(lab: RunningLab) -> None:
    if not node.KMSG.exists():
        pytest.skip("this host has no /dev/kmsg to give its lab nodes")
    name = lab.nodes[0]
    # A character device with the kernel's number, not a file or link standing in for it.
    kind = lab.ssh(name, "stat -c '%F %t:%T' /dev/kmsg").stdout.strip()
    assert kind == "character special file 1:b"
    assert lab.ssh(name, OPEN.format("O_RDONLY")).stdout.strip() == "O_RDONLY opened"


def test_fresh_node_cannot_write_the_hosts_kernel_log(lab: RunningLab) -> None:
    groups = node.cgroup_dirs(lab.name, lab.nodes[0])
    if not node.KMSG.exists() or not any((g / "devices.deny").exists() for g in groups):
        pytest.skip("no /dev/kmsg, or no cgroup v1 devices hierarchy to refuse writes with")
    done = lab.ssh(lab.nodes[0], OPEN.format("O_WRONLY"), check=False)
    assert done.returncode != 0
    assert "Operation not permitted" in done.stderr
