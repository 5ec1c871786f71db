"""invoke cluster.cis on lab nodes (real systemd, SSH and file system) formed by the
kubeadm role with tests/doubles/fake-kubeadm as kubeadm (kubeadm, kubelet and
kube-apiserver cannot run here): one control plane with stacked etcd, one worker, and a
third inventory host that never answers.

The double writes what kubeadm writes, at kubeadm's modes: kubeconfigs, PKI, the static
pod manifests with the flags kubeadm derives from the role's ClusterConfiguration, the
kubelet's files. The control plane is formed first; what its init uploads to the
cluster's ConfigMaps is handed to the worker's double (the double keeps its "cluster"
per host), then the worker joins. After that, cluster.cis finds no FAIL on the two nodes and marks the dead host's rows
UNKNOWN (exit 3); one manifest put back at 0644 makes it exit 1 naming 1.1.1 and its fix.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.paths import ROOT
from tests.integration.conftest import RunningLab
from tests.programs import run_playbook, run_program

from .test_remove_node_workers_lab_nodes import KUBEADM, put

pytestmark = pytest.mark.integration

# What the role and the double put on the nodes, removed again: the session lab is shared.
LEFTOVERS = (
    "/etc/kubernetes",
    "/var/lib/kubelet",
    "/var/lib/etcd",
    "/var/lib/fake-kubeadm",
    "/var/log/kubernetes",
    "/etc/crictl.yaml",
    "/etc/systemd/system/kubelet.service",
    "/etc/systemd/system/kubelet.service.d",
    KUBEADM,
)
# cluster.yml's kubeadm play, after the kubelet's unit and kubeadm's drop-in that
# roles/kube_artifacts installs (its binaries cannot be had here).
PLAY = [
    {
        "name": "Form the cluster with the kubeadm test double",
        "hosts": "kube_control_plane:kube_node",
        "become": True,
        "gather_facts": False,
        "roles": ["kube_defaults"],
        "tasks": [
            {
                "name": "Install the kubelet unit and kubeadm's drop-in",
                "ansible.builtin.include_role": {
                    "name": "kube_artifacts",
                    "tasks_from": "configure",
                },
            },
            {"name": "Form the cluster", "ansible.builtin.include_role": {"name": "kubeadm"}},
        ],
    }
]


@dataclass
class Site:
    lab: RunningLab
    inventory: Path
    control_plane: str
    worker: str

    def cis(self) -> subprocess.CompletedProcess[str]:
        return run_program(
            "invoke", "cluster.cis", "-i", str(self.inventory), "--json", "--timeout", "5"
        )


@pytest.fixture(scope="module")
def site(lab: RunningLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("cis")
    control_plane, worker = lab.nodes[:2]
    gone = str(ip_address(lab.address(lab.nodes[-1])) + 100)
    hosts = {n: {"ansible_host": lab.address(n)} for n in (control_plane, worker)}
    inventory = {
        "all": {
            "hosts": {**hosts, "gone": {"ansible_host": gone}},
            "children": {
                "kube_control_plane": {"hosts": {control_plane: None}},
                "kube_node": {"hosts": {worker: None, "gone": None}},
                "etcd": {"hosts": {control_plane: None}},
            },
        }
    }
    settings = yaml.safe_load((lab.inventory.parent / "group_vars" / "all.yml").read_text())
    settings.update(
        kubeadm_binary=KUBEADM,
        # No API server behind the double: nothing to approve or label.
        kubeadm_kubelet_serving_approver=False,
        kubeadm_pod_security_privileged_namespaces=[],
    )
    (folder / "group_vars").mkdir()
    (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    (folder / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (folder / "known_hosts").write_text((lab.inventory.parent / "known_hosts").read_text())
    try:
        for node in (control_plane, worker):
            put(
                lab,
                node,
                KUBEADM,
                (ROOT / "tests" / "doubles" / "fake-kubeadm").read_bytes(),
                "0755",
            )
        nodes = _nodes_inventory(folder, inventory, hosts)
        (folder / "play.yml").write_text(yaml.safe_dump(PLAY, sort_keys=False))
        form(nodes, folder, "--limit", control_plane)
        # What kubeadm init uploads to the kubeadm-config and kubelet-config ConfigMaps,
        # where the double's join reads it: its "cluster" is per host.
        uploaded = lab.ssh(control_plane, "cat /etc/kubernetes/kubeadm/init.yaml").stdout
        put(lab, worker, "/var/lib/fake-kubeadm/kubeadm-config.yaml", uploaded.encode(), "0600")
        form(nodes, folder)
        yield Site(lab, folder / "hosts.yml", control_plane, worker)
    finally:
        for node in (control_plane, worker):
            lab.ssh(node, f"rm -rf {' '.join(LEFTOVERS)}; systemctl daemon-reload", check=False)


def form(inventory: Path, folder: Path, *extra: str) -> None:
    done = run_playbook(
        ["-i", str(inventory), str(folder / "play.yml"), *extra],
        env={"ANSIBLE_CACHE_PLUGIN_CONNECTION": str(folder / "facts")},
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def _nodes_inventory(folder: Path, inventory: dict[str, Any], hosts: dict[str, Any]) -> Path:
    """The same inventory without the dead host, for the role's run."""
    data = json.loads(json.dumps(inventory))
    data["all"]["hosts"] = hosts
    data["all"]["children"]["kube_node"]["hosts"].pop("gone")
    path = folder / "nodes.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def rows(done: subprocess.CompletedProcess[str]) -> list[dict[str, str]]:
    return list(json.loads(done.stdout)["checks"])


def test_no_fail_on_the_nodes_the_dead_host_unknown_then_a_mode_change_named(site: Site) -> None:
    first = site.cis()
    found = rows(first)
    failed = [f"{r['check']} {r['host']}: {r['detail']}" for r in found if r["status"] == "FAIL"]
    assert failed == [], "\n".join(failed)
    assert first.returncode == 3, first.stderr[-2000:]
    gone = {r["status"] for r in found if r["host"] == "gone"}
    assert gone == {"UNKNOWN", "N/A"}
    assert {r["host"] for r in found} == {site.control_plane, site.worker, "gone"}
    by_check = {(r["check"], r["host"]): r for r in found}
    # Read, not assumed: the manifests, the kubelet's files and the etcd member are there.
    for check in ("1.1.1", "1.2.5", "1.2.29", "1.3.2", "2.2", "4.1.9", "4.2.1"):
        assert by_check[(check, site.control_plane)]["status"] == "PASS", check
    assert by_check[("2.2", site.worker)]["status"] == "N/A"
    assert by_check[("4.2.1", site.worker)]["status"] == "PASS"

    manifest = "/etc/kubernetes/manifests/kube-apiserver.yaml"
    site.lab.ssh(site.control_plane, f"chmod 0644 {manifest}")
    second = site.cis()
    assert second.returncode == 1, second.stderr[-2000:]
    failed_now = [r for r in rows(second) if r["status"] == "FAIL"]
    assert [(r["check"], r["host"]) for r in failed_now] == [("1.1.1", site.control_plane)]
    assert failed_now[0]["fix"] == f"chmod 600 {manifest}"
    assert f"1.1.1 on {site.control_plane}" in second.stderr

    table = run_program("invoke", "cluster.cis", "-i", str(site.inventory), "--timeout", "5")
    assert table.returncode == 1
    line = next(
        x for x in table.stdout.splitlines() if x.startswith("1.1.1 ") and site.control_plane in x
    )
    assert "FAIL" in line and f"chmod 600 {manifest}" in line
