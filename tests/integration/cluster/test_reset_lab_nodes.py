"""invoke cluster.reset on three lab nodes (a control plane and two workers) with
tests/doubles/fake-kubeadm as kubeadm and tests/doubles/fake-kubelet.service as kubelet
(neither can run here; the lab nodes, SSH, systemd, ip links and the playbook are real).

Each node is given what joining it leaves (the state the remove-node tests use), the
control plane the API endpoint's haproxy and keepalived configuration, and the
controller the fetched admin kubeconfig. Without a terminal and without --yes, and with
--etcd but no backup target, nothing changes. With one worker's link on the lab bridge
down, the other two are reset and the dead one is named (exit 3); once it is back, a
second run finishes it and removes the kubeconfig, and a third finds nothing to reset.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.integration.cluster.test_remove_node_workers_lab_nodes import (
    CLEANUP,
    KUBEADM,
    joined,
)
from tests.integration.conftest import RunningLab
from tests.programs import run_program

pytestmark = pytest.mark.integration

ENDPOINT = (
    "mkdir -p /etc/haproxy /etc/keepalived && echo frontend > /etc/haproxy/haproxy.cfg && "
    "echo vrrp_instance > /etc/keepalived/keepalived.conf && "
    "echo exit 0 > /etc/keepalived/check_haproxy.sh"
)
# What a reset must leave: ls prints nothing, no pod network link, kubelet off.
LEFT = (
    "ls -d /etc/kubernetes /var/lib/kubelet /etc/cni/net.d /var/lib/cni /etc/haproxy/haproxy.cfg "
    "/etc/keepalived/keepalived.conf /etc/keepalived/check_haproxy.sh 2>/dev/null; "
    "ip -o link show | grep -oE 'cni0|flannel' ; systemctl is-enabled kubelet; "
    "systemctl is-active kubelet"
)
JOINED_STATE = [
    "/etc/cni/net.d",
    "/etc/kubernetes",
    "/var/lib/cni",
    "/var/lib/kubelet",
    "cni0",
    "flannel",
    "enabled",
    "active",
]


@dataclass
class Site:
    lab: RunningLab
    inventory: Path
    kubeconfig: Path

    def reset(self, *args: str, inventory: Path | None = None) -> subprocess.CompletedProcess[str]:
        where = str(inventory or self.inventory)
        return run_program("invoke", "cluster.reset", "-i", where, *args, timeout=1200)

    def left(self, node: str) -> list[str]:
        return self.lab.ssh(node, LEFT, check=False).stdout.split()


def _inventory(lab: RunningLab, folder: Path, **settings: str) -> Path:
    control_plane, *workers = lab.nodes[:3]
    data = {
        "all": {
            "hosts": {n: {"ansible_host": lab.address(n)} for n in lab.nodes[:3]},
            "children": {
                "kube_control_plane": {"hosts": {control_plane: None}},
                "kube_node": {"hosts": dict.fromkeys(workers)},
                "etcd": {"hosts": {control_plane: None}},
            },
        }
    }
    found = yaml.safe_load((lab.inventory.parent / "group_vars" / "all.yml").read_text())
    (folder / "group_vars").mkdir()
    (folder / "group_vars" / "all.yml").write_text(
        yaml.safe_dump({**found, "kubeadm_binary": KUBEADM, **settings})
    )
    (folder / "hosts.yml").write_text(yaml.safe_dump(data))
    (folder / "known_hosts").write_text((lab.inventory.parent / "known_hosts").read_text())
    return folder / "hosts.yml"


@pytest.fixture(scope="module")
def site(lab: RunningLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("reset")
    inventory = _inventory(lab, folder)
    kubeconfig = folder / "artifacts" / "admin.conf"
    kubeconfig.parent.mkdir(mode=0o700)
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    for node in lab.nodes[:3]:
        joined(lab, node)
    lab.ssh(lab.nodes[0], ENDPOINT)
    try:
        yield Site(lab, inventory, kubeconfig)
    finally:
        subprocess.run(["ip", "link", "set", f"vb-{lab.nodes[2]}", "up"], check=False)
        for node in lab.nodes[:3]:
            lab.ssh(node, CLEANUP + "; rm -rf /etc/haproxy /etc/keepalived", check=False)


def test_refusals_change_nothing(site: Site, tmp_path: Path) -> None:
    done = site.reset()
    assert done.returncode == 2, done.stdout + done.stderr
    assert "needs confirmation: run it in a terminal, or add --yes." in done.stderr
    external = _inventory(site.lab, tmp_path, etcd_mode="external")
    refused = site.reset("--yes", "--etcd", inventory=external)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "backups are not configured" in refused.stderr
    assert "Traceback" not in done.stderr + refused.stderr
    for node in site.lab.nodes[:3]:
        assert set(JOINED_STATE) <= set(site.left(node)), node
    assert "/etc/haproxy/haproxy.cfg" in site.left(site.lab.nodes[0])
    assert site.kubeconfig.is_file()


def test_reset_with_a_dead_worker_then_again_then_nothing(site: Site) -> None:
    lab = site.lab
    control_plane, alive, dead = lab.nodes[:3]
    subprocess.run(["ip", "link", "set", f"vb-{dead}", "down"], check=True)
    try:
        first = site.reset("--yes")
    finally:
        subprocess.run(["ip", "link", "set", f"vb-{dead}", "up"], check=True)
    assert first.returncode == 3, first.stdout[-4000:] + first.stderr
    assert f"did not answer and were not reset: {dead}" in first.stderr
    for node in (control_plane, alive):
        assert site.left(node) == ["disabled", "inactive"], first.stdout[-6000:]
    calls = lab.ssh(control_plane, "cat /var/lib/fake-kubeadm/calls.jsonl").stdout
    assert '"reset", "--force"' in calls
    # The dead worker was not touched, and the kubeconfig waits for the run that finishes.
    assert sorted(site.left(dead)) == sorted(JOINED_STATE)
    assert site.kubeconfig.is_file()

    second = site.reset("--yes")
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr
    assert site.left(dead) == ["disabled", "inactive"]
    assert not site.kubeconfig.exists()
    assert "stays" in second.stdout

    third = site.reset("--yes")
    assert third.returncode == 0, third.stdout[-4000:] + third.stderr
    assert "Nothing to reset" in third.stdout, third.stdout[-4000:]
