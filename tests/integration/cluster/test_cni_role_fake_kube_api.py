"""The cni role's real tasks, with the real kubectl, against tests/doubles/fake_kube_api
(a Kubernetes API test double over HTTPS): the chosen plugin's manifest is applied and
recorded, the waits pass, a second run changes nothing, and a run asking for another
plugin than the cluster has is refused before anything is applied."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ANSIBLE_CFG, ROOT
from tests.doubles.fake_kube_api import FakeKubeApi

from .conftest import recap
from .tls_api import serve_tls

pytestmark = pytest.mark.integration

KUBECTL = ROOT / "tests" / "doubles" / "kubectl-no-openapi"
PLAYBOOK = Path(__file__).with_name("cni.yml")

# What kubeadm leaves before the pod network exists (Ready here: the double has no kubelet).
CLUSTER = """
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: 2
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec: {containers: [{name: coredns, image: registry.k8s.io/coredns/coredns:v1.12.1}]}
"""
NODE = """
apiVersion: v1
kind: Node
metadata: {name: %s}
status:
  conditions: [{type: Ready, status: "True"}]
"""
CALICO_WITHOUT_MARKER = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: calico-node}}
  template:
    metadata: {labels: {k8s-app: calico-node}}
    spec: {containers: [{name: calico-node, image: docker.io/calico/node:v3.29.0}]}
"""


@dataclass
class Api:
    double: FakeKubeApi
    kubeconfig: Path
    workdir: Path

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(KUBECTL), f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def seed(self, manifest: str) -> None:
        self.kubectl("apply", "--server-side", "--field-manager=kubeadm", "-f", "-", stdin=manifest)

    def play(self, *extra: str) -> tuple[int, str, dict[str, dict[str, int]]]:
        inventory = self.workdir / "hosts.yml"
        inventory.write_text(
            yaml.safe_dump(
                {
                    "all": {
                        "vars": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                            "cni_kubectl_binary": str(KUBECTL),
                            "cni_kubeconfig": str(self.kubeconfig),
                            "cni_manifest_dir": str(self.workdir / "manifests"),
                            "cni_wait_retries": 5,
                            "cni_wait_delay": 1,
                        },
                        "children": {
                            "kube_control_plane": {"hosts": {"cp1": None}},
                            "kube_node": {"hosts": {"w1": None}},
                        },
                    }
                }
            )
        )
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(self.workdir / "facts"),
            "ANSIBLE_NOCOLOR": "1",
        }
        cmd = [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            str(inventory),
            str(PLAYBOOK),
            *extra,
        ]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        return done.returncode, done.stdout + done.stderr, recap(done.stdout)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    double = FakeKubeApi(nodes=2)
    with serve_tls(double, tmp_path) as kubeconfig:
        made = Api(double, kubeconfig, tmp_path)
        made.seed(CLUSTER)
        made.seed(NODE % "cp1" + "---" + NODE % "w1")
        yield made


def test_cni_role_applies_flannel_once_and_refuses_a_switch(api: Api) -> None:
    rc, log, stats = api.play("-e", "kube_cni=flannel")
    assert rc == 0, log[-5000:]
    assert stats["cp1"]["changed"] >= 1
    marker = api.double.find("ConfigMap", "kube-system", "kubeprimer-cni")
    assert marker is not None and marker["data"]["cni"] == "flannel"
    ds = api.double.find("DaemonSet", "kube-flannel", "kube-flannel-ds")
    assert ds is not None
    assert ds["metadata"]["managedFields"][0]["manager"] == "kubeprimer"
    manifest = api.workdir / "manifests" / "flannel.yaml"
    assert oct(manifest.stat().st_mode & 0o777) == "0o600"

    rc, log, stats = api.play("-e", "kube_cni=flannel")
    assert rc == 0, log[-5000:]
    assert stats["cp1"]["changed"] == 0, "a converged run applies nothing"

    patches_before = [r for r in api.double.requests if r[0] == "PATCH"]
    rc, log, _ = api.play("-e", "kube_cni=calico")
    assert rc != 0
    assert "This cluster already runs flannel" in log
    assert "set kube_cni: flannel" in log
    assert [r for r in api.double.requests if r[0] == "PATCH"] == patches_before
    assert api.double.find("DaemonSet", "kube-system", "calico-node") is None


def test_cni_role_refuses_a_cluster_with_another_plugin_and_warns_about_weave(api: Api) -> None:
    api.seed(CALICO_WITHOUT_MARKER)
    rc, log, _ = api.play("-e", "kube_cni=weave")
    assert rc != 0
    assert "Weave Net is archived upstream" in log
    assert "This cluster already runs calico" in log
    assert api.double.find("DaemonSet", "kube-system", "weave-net") is None


def test_cni_role_waits_for_a_stuck_network(api: Api) -> None:
    api.double.stuck.add("kube-flannel/kube-flannel-ds")
    rc, log, _ = api.play("-e", "kube_cni=flannel")
    assert rc != 0
    assert "Wait for the network DaemonSet to run on every node" in log
    assert "FAILED - RETRYING" in log
