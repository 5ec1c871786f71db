"""Nested containers: containerd inside a lab node runs a real container.

There is no registry here, so the container's root file system is Debian's static
busybox, installed in the node through the lab's package proxy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

ROOTFS = "/srv/busybox-rootfs"


@pytest.fixture(scope="module")
def containerd_node(lab: RunningLab) -> str:
    name = lab.nodes[-1]
    lab.ssh(
        name,
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q containerd busybox-static"
        f" && mkdir -p {ROOTFS}/bin && cp /bin/busybox {ROOTFS}/bin/busybox"
        " && systemctl is-active containerd",
        timeout=600,
    )
    return name


def test_containerd_runs_a_container_in_a_node(lab: RunningLab, containerd_node: str) -> None:
    out = lab.ssh(
        containerd_node,
        f"ctr run --rm --rootfs {ROOTFS} nested-cgroupfs /bin/busybox sh -c 'echo hi; cat /proc/1/cgroup'",
        timeout=120,
    ).stdout
    lines = out.splitlines()
    assert lines[0] == "hi"
    # The container got its own cgroup inside the node, not the node's.
    assert any(line.endswith(":/default/nested-cgroupfs") for line in lines)


def test_containerd_with_the_systemd_cgroup_driver(lab: RunningLab, containerd_node: str) -> None:
    out = lab.ssh(
        containerd_node,
        f"ctr run --rm --runc-systemd-cgroup --cgroup system.slice:kp:nested --rootfs {ROOTFS}"
        " nested-systemd /bin/busybox cat /proc/1/cgroup",
        timeout=120,
    ).stdout
    # kubeadm's recommended driver: the node's own systemd made a scope for it.
    assert "/system.slice/kp-nested.scope" in out


def test_the_packages_came_through_the_shared_cache(lab: RunningLab, containerd_node: str) -> None:
    cache = lab.config.cache_dir / "apt-cacher-ng"
    assert list(Path(cache).rglob("containerd_*.deb")), f"no containerd package cached in {cache}"
