"""cluster.remove-node on two workers of lab nodes, one alive and one dead, with
tests/doubles/fake-kubeadm as kubeadm on the nodes and tests/doubles/fake_kube_api as the
API server (neither can run here; the lab nodes, SSH, systemd and the playbook are real).

The live worker is drained through evictions (its DaemonSet pod stays), reset with the
kubeadm double and cleaned (the pod network's interfaces and files, the kubelet's
folder, kubelet stopped and disabled), its Node deleted, and the removal recorded; a
second run of the playbook changes nothing. The dead worker (its link on the lab bridge
down) is cordoned, not drained (its pods could never terminate), left untouched, its
Node deleted, and the output says it was not cleaned.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ROOT
from tests.doubles.fake_kube_api import FakeKubeApi
from tests.integration.conftest import RunningLab
from tests.programs import run_playbook, run_program

from .conftest import recap

pytestmark = pytest.mark.integration

DOUBLES = ROOT / "tests" / "doubles"
KUBEADM = "/usr/local/sbin/fake-kubeadm"
# What a joined worker has, put there by the test (and removed again: the lab is shared).
JOINED = (
    "mkdir -p /etc/kubernetes/pki /var/lib/kubelet/pki /etc/cni/net.d /var/lib/cni/networks/cbr0 && "
    "echo kubeconfig > /etc/kubernetes/kubelet.conf && echo ca > /etc/kubernetes/pki/ca.crt && "
    "echo kind: KubeletConfiguration > /var/lib/kubelet/config.yaml && "
    "echo '{}' > /etc/cni/net.d/10-flannel.conflist && echo 10.244.1.2 > /var/lib/cni/networks/cbr0/last && "
    "(ip link show cni0 >/dev/null 2>&1 || ip link add cni0 type bridge) && "
    "(ip link show flannel.1 >/dev/null 2>&1 || ip link add flannel.1 type bridge) && "
    "systemctl daemon-reload && systemctl enable --now kubelet"
)
# A real kubelet unit is enabled; the double's has no [Install] of its own.
ENABLED = b"\n[Install]\nWantedBy=multi-user.target\n"
CLEANUP = (
    "systemctl disable --now kubelet; rm -f /etc/systemd/system/kubelet.service; "
    f"rm -rf /etc/kubernetes /var/lib/kubelet /etc/cni /var/lib/cni /var/lib/fake-kubeadm {KUBEADM}; "
    "ip link delete cni0; ip link delete flannel.1; systemctl daemon-reload"
)


@dataclass
class Site:
    lab: RunningLab
    inventory: Path
    kubeconfig: Path
    api: FakeKubeApi

    def remove(self, node: str) -> subprocess.CompletedProcess[str]:
        argv = ["cluster.remove-node", node, "--yes", "--drain-timeout", "30"]
        files = ["-i", str(self.inventory), "--kubeconfig", str(self.kubeconfig)]
        return run_program("invoke", *argv, *files, timeout=900)


def put(lab: RunningLab, node: str, path: str, data: bytes, mode: str) -> None:
    done = subprocess.run(
        [*lab.ssh_args(node), f"mkdir -p $(dirname {path}) && cat > {path} && chmod {mode} {path}"],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def joined(lab: RunningLab, node: str) -> None:
    """The node as a join leaves it: the kubeadm and kubelet test doubles installed and
    the files of a joined node in place."""
    put(lab, node, KUBEADM, (DOUBLES / "fake-kubeadm").read_bytes(), "0755")
    put(
        lab,
        node,
        "/etc/systemd/system/kubelet.service",
        (DOUBLES / "fake-kubelet.service").read_bytes() + ENABLED,
        "0644",
    )
    lab.ssh(node, JOINED)


@pytest.fixture(scope="module")
def site(lab: RunningLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("remove-workers")
    control_plane, alive, dead = lab.nodes[:3]
    inventory = {
        "all": {
            "hosts": {n: {"ansible_host": lab.address(n)} for n in lab.nodes[:3]},
            "children": {
                "kube_control_plane": {"hosts": {control_plane: None}},
                "kube_node": {"hosts": {alive: None, dead: None}},
                "etcd": {"hosts": {control_plane: None}},
            },
        }
    }
    settings = yaml.safe_load((lab.inventory.parent / "group_vars" / "all.yml").read_text())
    (folder / "group_vars").mkdir()
    (folder / "group_vars" / "all.yml").write_text(
        yaml.safe_dump({**settings, "kubeadm_binary": KUBEADM})
    )
    (folder / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (folder / "known_hosts").write_text((lab.inventory.parent / "known_hosts").read_text())
    for node in (alive, dead):
        joined(lab, node)
    api = FakeKubeApi()
    api.add_node(control_plane)
    api.add_node(alive)
    api.add_node(dead, ready=False)
    api.add_pod("default", "web-1", alive, {"app": "web"})
    api.add_pod("kube-flannel", "flannel-ds-1", alive, owner="DaemonSet")
    api.add_pod("default", "web-2", dead, {"app": "web"})
    try:
        with api.serve(folder) as kubeconfig:
            yield Site(lab, folder / "hosts.yml", kubeconfig, api)
    finally:
        subprocess.run(["ip", "link", "set", f"vb-{dead}", "up"], check=False)
        for node in (alive, dead):
            lab.ssh(node, CLEANUP, check=False)


def test_a_live_worker_is_drained_reset_cleaned_and_deleted(site: Site) -> None:
    lab, alive = site.lab, site.lab.nodes[1]
    done = site.remove(alive)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    evicted = [p for m, p in site.api.requests if p.endswith("/eviction")]
    assert evicted == ["/api/v1/namespaces/default/pods/web-1/eviction"]
    assert site.api.find("Node", "", alive) is None
    calls = [
        json.loads(line)
        for line in lab.ssh(alive, "cat /var/lib/fake-kubeadm/calls.jsonl").stdout.splitlines()
    ]
    assert [c["argv"][:2] for c in calls] == [["reset", "--force"]]
    left = lab.ssh(
        alive,
        "ls -d /etc/kubernetes /var/lib/kubelet /etc/cni/net.d /var/lib/cni 2>/dev/null; "
        "ip -o link show | grep -E 'cni0|flannel' ; systemctl is-enabled kubelet; systemctl is-active kubelet",
        check=False,
    ).stdout.split()
    assert left == ["disabled", "inactive"], left
    record = yaml.safe_load((site.inventory.parent / ".removed-nodes.yml").read_text())
    assert record[alive]["roles"] == ["worker"]
    assert f"delete it from {site.inventory}" in done.stdout

    # A second run of the host steps finds nothing left to do.
    again = run_playbook(
        [
            "-i",
            str(site.inventory),
            "playbooks/remove_node.yml",
            "--limit",
            alive,
            "-e",
            f"kubeprimer_remove_node={alive}",
        ]
    )
    assert again.returncode == 0, again.stdout[-3000:]
    assert recap(again.stdout)[alive]["changed"] == 0, again.stdout[-3000:]


def test_a_dead_worker_is_cordoned_and_deleted_and_left_alone(site: Site) -> None:
    lab, dead = site.lab, site.lab.nodes[2]
    subprocess.run(["ip", "link", "set", f"vb-{dead}", "down"], check=True)
    try:
        done = site.remove(dead)
    finally:
        subprocess.run(["ip", "link", "set", f"vb-{dead}", "up"], check=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    assert "not Ready" in done.stdout and "not cleaned" in done.stdout, done.stdout
    assert site.api.find("Node", "", dead) is None
    assert not [p for m, p in site.api.requests if p.endswith("web-2/eviction")]
    # Nothing on the host was touched: it did not answer.
    assert (
        lab.ssh(
            dead, "test -f /etc/kubernetes/kubelet.conf && systemctl is-active kubelet"
        ).returncode
        == 0
    )
