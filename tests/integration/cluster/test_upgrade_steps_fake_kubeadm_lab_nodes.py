"""playbooks/upgrade.yml's apply and node steps on lab nodes (real systemd, over SSH),
with tests/doubles/fake-kubeadm as kubeadm and tests/doubles/artifact_mirror's files as
the new kubeadm, kubelet and kubectl.

A cluster at Kubernetes 1.36.4 as kubeadm and cluster.up left it (control plane
manifests, kubeconfigs and the kubelet's configuration at 0600 with the project's
settings) goes to the pinned 1.37.1: the first control plane's upgrade apply gets the
project's UpgradeConfiguration and its kubelet configuration comes back to 0600 with
the project's settings after the double rewrote it at 0644 with kubeadm's defaults;
the node step runs upgrade node on the worker only, installs the new binaries,
restarts kubelet and leaves no mark; each step run again changes nothing on an upgraded
node, while a node whose step stopped after the binaries changed (its mark left) is
finished by that same run.
containerd's part of the node step is skipped: these nodes run no containerd of the
role's (roles/containerd's own tests upgrade it), so it would only add minutes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer import pins
from kubeprimer.paths import PLAYBOOKS, ROOT
from tests.doubles import artifact_mirror
from tests.integration.conftest import RunningLab
from tests.programs import run_playbook

from .conftest import recap
from .test_kubelet_serving_lab_nodes import put

pytestmark = pytest.mark.integration

OLD, NEW = "v1.36.4", "v1.37.1"
FAKE_KUBEADM = ROOT / "tests" / "doubles" / "fake-kubeadm"
KUBEADM = "/usr/local/sbin/fake-kubeadm"
CONFIG = "/var/lib/kubelet/config.yaml"
NODE_MARK = "/etc/kubernetes/kubeadm/upgrade-node.pending"
# What the test and the playbook put on the nodes, removed again: the session lab is shared.
LEFTOVERS = (
    "/etc/kubernetes",
    "/var/lib/kubelet",
    "/var/lib/fake-kubeadm",
    "/var/cache/kubeprimer",
    "/usr/local/bin/kubeadm",
    "/usr/local/bin/kubelet",
    "/usr/local/bin/kubectl",
    "/usr/local/bin/crictl",
    KUBEADM,
    "/opt/cni",
    "/etc/crictl.yaml",
    "/etc/systemd/system/kubelet.service",
    "/etc/systemd/system/kubelet.service.d",
)
# The project's kubelet settings as cluster.up leaves them (roles/kubeadm, container node).
PROJECT_KUBELET = {
    "apiVersion": "kubelet.config.k8s.io/v1beta1",
    "kind": "KubeletConfiguration",
    "cgroupDriver": "systemd",
    "readOnlyPort": 0,
    "rotateCertificates": True,
    "serverTLSBootstrap": True,
    "failCgroupV1": False,
    "failSwapOn": False,
    "protectKernelDefaults": False,
    "authentication": {"anonymous": {"enabled": False}},
}


def manifest(name: str, version: str) -> bytes:
    text = f"spec:\n  containers:\n  - name: {name}\n    image: registry.k8s.io/{name}:{version}\n"
    return text.encode()


def a_cluster_at(lab: RunningLab, control_plane: str, worker: str) -> None:
    """What kubeadm init/join and cluster.up leave, at the old version."""
    for node in (control_plane, worker):
        put(lab, node, KUBEADM, FAKE_KUBEADM.read_bytes(), "0755")
        put(lab, node, "/etc/kubernetes/kubelet.conf", b"fake\n", "0600")
        put(lab, node, "/etc/kubernetes/pki/ca.crt", b"FAKE CA CERTIFICATE\n", "0600")
        put(lab, node, CONFIG, yaml.safe_dump(PROJECT_KUBELET).encode(), "0600")
        put(
            lab,
            node,
            "/usr/local/bin/kubelet",
            f"#!/bin/sh\necho 'Kubernetes {OLD}'\n".encode(),
            "0755",
        )
    put(lab, control_plane, "/etc/kubernetes/admin.conf", b"fake\n", "0600")
    put(lab, control_plane, "/etc/kubernetes/pki/apiserver.crt", b"FAKE CERTIFICATE\n", "0600")
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        put(
            lab,
            control_plane,
            f"/etc/kubernetes/manifests/{name}.yaml",
            manifest(name, OLD),
            "0600",
        )
    state = {"tokens": {}, "certificate_keys": [], "issued": [], "endpoint": "x", "version": OLD}
    put(
        lab, control_plane, "/var/lib/fake-kubeadm/cluster.json", json.dumps(state).encode(), "0600"
    )


def calls(lab: RunningLab, node: str) -> list[dict[str, Any]]:
    done = lab.ssh(node, "cat /var/lib/fake-kubeadm/calls.jsonl", check=False)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def upgrades(lab: RunningLab, node: str) -> list[list[str]]:
    return [c["argv"] for c in calls(lab, node) if c["argv"][:1] == ["upgrade"]]


def kubelet_config(lab: RunningLab, node: str) -> tuple[str, dict[str, Any]]:
    mode = lab.ssh(node, f"stat -c %a {CONFIG}").stdout.strip()
    return mode, yaml.safe_load(lab.ssh(node, f"cat {CONFIG}").stdout)


@pytest.fixture
def nodes(lab: RunningLab) -> Iterator[tuple[str, str]]:
    groups = yaml.safe_load(lab.inventory.read_text())["all"]["children"]
    control_plane = next(iter(groups["kube_control_plane"]["hosts"]))
    workers = [n for n in groups["kube_node"]["hosts"] if n != control_plane]
    if not workers:
        pytest.skip("the session lab has no worker")
    pair = (control_plane, workers[0])
    try:
        yield pair
    finally:
        for node in pair:
            lab.ssh(node, "systemctl disable --now kubelet", check=False)
            lab.ssh(node, f"rm -rf {' '.join(LEFTOVERS)} && systemctl daemon-reload", check=False)


@pytest.fixture
def mirror(lab: RunningLab, tmp_path: Path) -> Iterator[str]:
    found = pins.load()
    crictl = found["crictl"]["minors"]["1.37"]["version"]
    root = tmp_path / "mirror"
    artifact_mirror.build(root, NEW.lstrip("v"), crictl, found["cni_plugins"]["version"])
    with artifact_mirror.serve(root, address=str(lab.status.plan.gateway)) as url:
        yield url


def step(
    lab: RunningLab, name: str, limit: str, mirror: str, workdir: Path
) -> tuple[str, dict[str, dict[str, int]]]:
    settings = {
        "kubeprimer_upgrade_step": name,
        "kubeadm_binary": KUBEADM,
        "kube_artifacts_mirror_url": mirror,
        "kube_version": NEW.lstrip("v"),
        # The mirror is on the lab bridge, not behind the lab's package proxy.
        "proxy_no_proxy": [mirror.split("//")[1].split(":")[0]],
    }
    done = run_playbook(
        [
            "-i",
            str(lab.inventory),
            str(PLAYBOOKS / "upgrade.yml"),
            "--limit",
            limit,
            "--skip-tags",
            "containerd",
            "--extra-vars",
            json.dumps(settings),
        ],
        env={"ANSIBLE_CACHE_PLUGIN_CONNECTION": str(workdir / "facts")},
        timeout=900,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-6000:]
    return log, recap(done.stdout)


def test_apply_then_node_steps_upgrade_and_run_again_change_nothing(
    lab: RunningLab, nodes: tuple[str, str], mirror: str, tmp_path: Path
) -> None:
    if shutil.which("ssh") is None:
        pytest.skip("ssh is not installed")
    control_plane, worker = nodes
    a_cluster_at(lab, control_plane, worker)

    log, stats = step(lab, "apply", control_plane, mirror, tmp_path)
    assert stats[control_plane]["changed"] > 0
    [apply] = upgrades(lab, control_plane)
    assert apply[:3] == ["upgrade", "apply", NEW] and "--yes" in apply
    [recorded] = [c for c in calls(lab, control_plane) if c["argv"] == apply]
    config = recorded["config"]
    assert config["mode"] == "0600"
    upgrade_config = yaml.safe_load(config["content"])
    assert upgrade_config["kind"] == "UpgradeConfiguration"
    assert upgrade_config["apply"]["kubernetesVersion"] == NEW
    assert upgrade_config["node"]["patches"] == {"directory": "/etc/kubernetes/kubeadm/patches"}
    assert (
        f"kube-apiserver:{NEW}"
        in lab.ssh(control_plane, "cat /etc/kubernetes/manifests/kube-apiserver.yaml").stdout
    )
    # The double rewrote the kubelet's configuration at 0644 with kubeadm's defaults.
    mode, settings = kubelet_config(lab, control_plane)
    assert mode == "600"
    assert {k: settings[k] for k in PROJECT_KUBELET if k != "authentication"} == {
        k: v for k, v in PROJECT_KUBELET.items() if k != "authentication"
    }
    assert settings["clusterDNS"] == ["10.96.0.10"]  # kubeadm's own fields stay
    assert settings["authentication"]["webhook"]["enabled"] is True
    # kubeadm renewed the API server's certificate at 0644; private again.
    assert (
        lab.ssh(control_plane, "stat -c %a /etc/kubernetes/pki/apiserver.crt").stdout.strip()
        == "600"
    )

    log, stats = step(lab, "apply", control_plane, mirror, tmp_path)
    assert stats[control_plane]["changed"] == 0, log[-6000:]
    assert len(upgrades(lab, control_plane)) == 1

    both = f"{control_plane},{worker}"
    log, stats = step(lab, "node", both, mirror, tmp_path)
    assert stats[control_plane]["changed"] > 0 and stats[worker]["changed"] > 0
    assert upgrades(lab, worker) == [
        ["upgrade", "node", "--config=/etc/kubernetes/kubeadm/upgrade.yaml"]
    ]
    assert len(upgrades(lab, control_plane)) == 1  # its upgrade node was the apply step's
    for node in (control_plane, worker):
        assert NEW in lab.ssh(node, "/usr/local/bin/kubelet --version").stdout
        mode, settings = kubelet_config(lab, node)
        assert mode == "600" and settings["serverTLSBootstrap"] is True
        assert settings["readOnlyPort"] == 0 and settings["failSwapOn"] is False
        assert lab.ssh(node, f"test -e {NODE_MARK}", check=False).returncode == 1
    restarts = log.split("Restart kubelet on its new binary")[1].split("TASK")[0]
    assert f"changed: [{worker}]" in restarts and f"changed: [{control_plane}]" in restarts

    # Run again, the control plane's node step as if stopped after its new binaries
    # (its mark left): the worker changes nothing, the control plane finishes.
    lab.ssh(control_plane, f"echo {NEW} > {NODE_MARK}")
    log, stats = step(lab, "node", both, mirror, tmp_path)
    assert stats[worker]["changed"] == 0, log[-6000:]
    assert len(upgrades(lab, worker)) == 1
    restarts = log.split("Restart kubelet on its new binary")[1].split("TASK")[0]
    assert f"changed: [{control_plane}]" in restarts
    assert lab.ssh(control_plane, f"test -e {NODE_MARK}", check=False).returncode == 1
