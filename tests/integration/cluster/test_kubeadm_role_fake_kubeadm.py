"""The kubeadm role's real tasks on four stand-in hosts (mount namespaces on this
machine: three control planes and a worker) with tests/doubles/fake-kubeadm in place
of kubeadm: check mode changes nothing, init runs once, control planes join one at a
time with an uploaded certificate key, the worker with a short-lived token, a second
run changes nothing, and no join secret shows in the log, in any process's arguments
or in any file left behind."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CONTROL_PLANES, WORKERS, Cluster

pytestmark = pytest.mark.integration


def calls(cluster: Cluster, host: str) -> list[dict[str, Any]]:
    h = cluster.hosts[host]
    if not h.exists("/var/lib/fake-kubeadm/calls.jsonl"):
        return []
    return [json.loads(line) for line in h.read("/var/lib/fake-kubeadm/calls.jsonl").splitlines()]


def verbs(records: list[dict[str, Any]]) -> list[str]:
    """The sub-command of each call: its first words before any flag (token IDs vary)."""
    return [" ".join(a for a in r["argv"][:3] if not a.startswith("-")) for r in records]


def test_kubeadm_role_forms_cluster_once_and_keeps_join_secrets_out_of_sight(
    cluster: Cluster,
) -> None:
    # cluster.plan runs the playbook in check mode: it must pass and change nothing.
    preview = cluster.play("--check")
    assert preview.rc == 0, preview.log[-6000:]
    assert all(calls(cluster, h) == [] for h in cluster.hosts)
    assert not any(h.exists("/etc/kubernetes") for h in cluster.hosts.values())

    first = cluster.play(watch=True)
    assert first.rc == 0, first.log[-6000:]

    # --- init once, on the first control plane, then joins ---------------------------
    cp1 = calls(cluster, "cp1")
    assert verbs(cp1) == [
        "init",
        "token list",
        "token delete",
        "token create",
        "init phase upload-certs",
        "token delete",
    ], verbs(cp1)
    init = cp1[0]
    assert "--skip-token-print" in init["argv"]
    assert init["config"]["path"] == "/etc/kubernetes/kubeadm/init.yaml"
    assert init["config"]["mode"] == "0600"
    init_docs = {d["kind"]: d for d in yaml.safe_load_all(init["config"]["content"]) if d}
    assert init_docs["ClusterConfiguration"]["controlPlaneEndpoint"] == "10.0.0.10:6443"
    assert init_docs["KubeletConfiguration"]["failCgroupV1"] is False
    create = cp1[3]
    assert "--ttl=15m" in create["argv"]

    state = json.loads(cluster.hosts["cp1"].read("/var/lib/fake-kubeadm/cluster.json"))
    # The init token and the join token were both deleted again.
    assert state["tokens"] == {}
    init_token, join_token = state["issued"]
    (certificate_key,) = state["certificate_keys"]

    def sha(text: str) -> str:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    joins = {}
    for host in (*CONTROL_PLANES[1:], *WORKERS):
        (join,) = calls(cluster, host)
        assert join["argv"][0] == "join", join
        assert join["config"]["mode"] == "0600"
        assert join["join"]["token"] == sha(join_token)
        assert join["join"]["endpoint"] == "10.0.0.10:6443"
        joins[host] = join
    for host in CONTROL_PLANES[1:]:
        assert joins[host]["join"]["control_plane"] is True
        assert joins[host]["join"]["certificate_key"] == sha(certificate_key)
    for host in WORKERS:
        assert joins[host]["join"]["control_plane"] is False
        assert joins[host]["join"]["certificate_key"] is None
    # etcd grows one member at a time: the control planes' joins did not overlap.
    a, b = (joins[h] for h in CONTROL_PLANES[1:])
    assert a["end"] <= b["time"] or b["end"] <= a["time"]

    # --- what the role leaves on the hosts ---------------------------------------------
    secret = ""
    for host in CONTROL_PLANES:
        h = cluster.hosts[host]
        assert h.mode("/etc/kubernetes/encryption/config.yaml") == "600"
        assert h.mode("/etc/kubernetes/audit/policy.yaml") == "600"
        enc = yaml.safe_load(h.read("/etc/kubernetes/encryption/config.yaml"))
        key = enc["resources"][0]["providers"][0]["secretbox"]["keys"][0]["secret"]
        assert secret in ("", key), "every control plane has the same encryption key"
        secret = key
    for host in cluster.hosts.values():
        assert not host.exists("/etc/kubernetes/kubeadm/join.yaml")
        # kubeadm writes certificates 0644; the role makes them root-only.
        assert host.mode("/etc/kubernetes/pki/ca.crt") == "600"
        assert host.mode("/etc/kubernetes/kubelet.conf") == "600"
        patch = host.read("/etc/kubernetes/kubeadm/patches/kubeletconfiguration+merge.yaml")
        assert yaml.safe_load(patch) == {"failCgroupV1": False}
    cis_node_files(cluster)
    admin = cluster.inventory.parent / "artifacts" / "admin.conf"
    assert oct(admin.stat().st_mode & 0o777) == "0o600"
    assert oct(admin.parent.stat().st_mode & 0o777) == "0o700"
    assert "server: https://10.0.0.10:6443" in admin.read_text()

    # --- the secrets never show ------------------------------------------------------
    secrets = {
        "init token": init_token,
        "join token": join_token,
        "certificate key": certificate_key,
    }
    secrets["token secret half"] = join_token.split(".")[1]
    secrets["encryption key"] = secret
    for label, value in secrets.items():
        assert value not in first.log, f"{label} is in the Ansible log"
        assert not [c for c in first.commands if value in c], f"{label} was on a command line"
    for call in [c for h in cluster.hosts for c in calls(cluster, h)]:
        for label, value in secrets.items():
            assert value not in " ".join(call["argv"]), f"{label} passed as an argument"
    leftovers = files_containing(cluster, list(secrets.values()))
    # Only the encryption configuration holds a secret, by design, and the double's own
    # "cluster" records (what etcd would hold on a real cluster).
    allowed = {"etc/kubernetes/encryption/config.yaml", "var/lib/fake-kubeadm/cluster.json"}
    assert {p for p in leftovers if p.split("/", 1)[1] not in allowed} == set(), leftovers

    # --- a second run changes nothing and runs no kubeadm command that changes state --
    second = cluster.play()
    assert second.rc == 0, second.log[-6000:]
    assert {h: r["changed"] for h, r in second.recap.items()} == dict.fromkeys(cluster.hosts, 0)
    assert len(calls(cluster, "cp1")) == len(cp1)
    for host in (*CONTROL_PLANES[1:], *WORKERS):
        assert len(calls(cluster, host)) == 1


def cis_node_files(cluster: Cluster) -> None:
    """CIS 1.1 and 4.1 after init and the joins: the double wrote the kubelet's files with
    kubeadm's modes (config.yaml 0644) and root-owned etcd data folders; the role made
    them what the benchmark asks for."""

    def owner(host: str, path: str) -> str:
        return str(cluster.hosts[host].run("stat", "-c", "%U:%G", path).stdout.strip())

    for name, host in cluster.hosts.items():
        assert host.mode("/var/lib/kubelet/config.yaml") == "600", name  # 4.1.9
        assert owner(name, "/var/lib/kubelet/config.yaml") == "root:root", name  # 4.1.10
        # Not a file the benchmark names: left as kubeadm writes it.
        assert host.mode("/var/lib/kubelet/kubeadm-flags.env") == "644", name
        assert owner(name, "/etc/kubernetes/kubelet.conf") == "root:root", name  # 4.1.6
        assert owner(name, "/etc/kubernetes/pki") == "root:root", name  # 1.1.19
    for name in CONTROL_PLANES:
        host = cluster.hosts[name]
        assert host.mode("/var/lib/etcd") == "700", name  # 1.1.11
        assert owner(name, "/var/lib/etcd") == "etcd:etcd", name  # 1.1.12
        for pod in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
            manifest = f"/etc/kubernetes/manifests/{pod}.yaml"
            assert (host.mode(manifest), owner(name, manifest)) == ("600", "root:root")
        for conf in ("admin", "super-admin", "scheduler", "controller-manager"):
            assert host.mode(f"/etc/kubernetes/{conf}.conf") == "600"  # 1.1.13-1.1.18
    for name in WORKERS:
        assert not cluster.hosts[name].exists("/var/lib/etcd"), name
    # init wrote the cluster's KubeletConfiguration with the node's patch, as kubeadm does.
    kubelet = yaml.safe_load(cluster.hosts["cp1"].read("/var/lib/kubelet/config.yaml"))
    assert kubelet["protectKernelDefaults"] is True
    assert kubelet["seccompDefault"] is True
    assert kubelet["failCgroupV1"] is False


def files_containing(cluster: Cluster, values: list[str]) -> set[str]:
    """Every file any host wrote (its overlay), plus the controller-side work folder."""
    found = set()
    roots = [(h.name, h.upper) for h in cluster.hosts.values()]
    roots.append(("controller", cluster.workdir / "inventory"))
    roots.append(("controller", cluster.workdir / "facts"))
    roots.append(("controller", Path.home() / ".ansible" / "tmp"))
    for name, root in roots:
        if not root.exists():
            continue
        # os.walk passes over folders that vanish while it runs: other Ansible runs on
        # this machine clean up their own folders under ~/.ansible/tmp.
        for folder, _, names in os.walk(root):
            for path in (Path(folder) / n for n in names):
                try:
                    data = b"" if path.is_symlink() else path.read_bytes()
                except FileNotFoundError:
                    continue
                if any(v.encode() in data for v in values):
                    found.add(f"{name}/{path.relative_to(root)}")
    return found
