"""The kubeadm role's kubelet-serving tasks on a lab node (real systemd, over SSH), with
the real kubectl on the node talking to tests/doubles/fake_kube_api on the lab bridge:
the node's own serving request is approved during the run and another one is not, the
approver's timer runs, a second run changes nothing, and the approver's systemd
service, started as the timer starts it, approves a renewal. A node set up by an earlier
release (no serverTLSBootstrap) is brought over: its config.yaml and the kubelet-config
ConfigMap gain the setting, the rest unchanged, kubelet restarts once and is approved."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ROOT
from tests.doubles.fake_kube_api import FakeKubeApi
from tests.integration.conftest import RunningLab
from tests.integration.playbook import play_roles

from .conftest import recap
from .test_kubelet_serving_approver_fake_kube_api import csr, request
from .tls_api import serve_tls

pytestmark = pytest.mark.integration

UNIT = "kubeprimer-kubelet-serving-approver"
FAKE_KUBELET = ROOT / "tests" / "doubles" / "fake-kubelet.service"
# kubectl apply without client-side validation: the double serves no OpenAPI document.
KUBECTL_NO_OPENAPI = ROOT / "tests" / "doubles" / "kubectl-no-openapi"
STARTS = "/run/fake-kubelet-starts"
# What the test puts on the node, and removes again: the session lab is shared.
LEFTOVERS = (
    "/etc/kubernetes",
    "/var/lib/kubelet",
    "/usr/local/bin/kubectl",
    "/usr/local/bin/kubectl-no-openapi",
    f"/usr/local/sbin/{UNIT}",
    f"/etc/systemd/system/{UNIT}.service",
    f"/etc/systemd/system/{UNIT}.timer",
    "/etc/systemd/system/kubelet.service",
    STARTS,
)
# A KubeletConfiguration as kubeadm wrote it for an earlier release: no serverTLSBootstrap.
OLD_KUBELET_CONFIG = """\
apiVersion: kubelet.config.k8s.io/v1beta1
authentication:
  anonymous:
    enabled: false
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
kind: KubeletConfiguration
readOnlyPort: 0
rotateCertificates: true
staticPodPath: /etc/kubernetes/manifests
"""


def put(lab: RunningLab, node: str, path: str, data: bytes, mode: str) -> None:
    done = subprocess.run(
        [*lab.ssh_args(node), f"mkdir -p $(dirname {path}) && cat > {path} && chmod {mode} {path}"],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def node_kubeconfig(kubeconfig: Path) -> bytes:
    """The double's kubeconfig with its CA inline, as kubeadm writes admin.conf."""
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    ca = Path(cluster.pop("certificate-authority")).read_bytes()
    cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    return yaml.safe_dump(config).encode()


@pytest.fixture
def node(lab: RunningLab) -> Iterator[str]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    name = lab.nodes[0]
    try:
        yield name
    finally:
        lab.ssh(name, f"systemctl disable --now {UNIT}.timer kubelet", check=False)
        lab.ssh(name, f"rm -rf {' '.join(LEFTOVERS)} && systemctl daemon-reload", check=False)


def play(lab: RunningLab, node: str, tmp_path: Path) -> tuple[int, str, dict[str, int]]:
    steps = [("kube_defaults", "main"), ("kubeadm", "kubelet-serving")]
    kubectl = "kubeadm_kubectl_binary=/usr/local/bin/kubectl-no-openapi"
    done = play_roles(lab.inventory, node, steps, tmp_path, "--extra-vars", kubectl)
    return done.returncode, done.stdout + done.stderr, recap(done.stdout).get(node, {})


def prepare(lab: RunningLab, node: str, kubeconfig: Path, kubelet_config: str) -> None:
    """What kubeadm init/join and the role's configure step leave before these tasks."""
    lab.ssh(node, "install -d -m 0700 /etc/kubernetes/kubeadm")
    put(lab, node, "/etc/kubernetes/admin.conf", node_kubeconfig(kubeconfig), "0600")
    put(lab, node, "/var/lib/kubelet/config.yaml", kubelet_config.encode(), "0644")
    kubectl = Path(shutil.which("kubectl") or "kubectl").resolve().read_bytes()
    put(lab, node, "/usr/local/bin/kubectl", kubectl, "0755")
    put(lab, node, "/usr/local/bin/kubectl-no-openapi", KUBECTL_NO_OPENAPI.read_bytes(), "0755")


def add_kubelet_configmap(double: FakeKubeApi, kubelet_config: str) -> None:
    """kube-system's kubelet-config ConfigMap, as kubeadm init makes it."""
    kind = double.resolve("/api/v1/namespaces/kube-system/configmaps")[0]
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kubelet-config"},
        "data": {"kubelet": kubelet_config},
    }
    double.create(kind, "kube-system", body)


def cluster_kubelet_config(double: FakeKubeApi) -> dict[str, object]:
    found = double.find("ConfigMap", "kube-system", "kubelet-config") or {}
    loaded: dict[str, object] = yaml.safe_load(found["data"]["kubelet"])
    return loaded


def approved(double: FakeKubeApi, name: str) -> bool:
    found = double.find("CertificateSigningRequest", "", name) or {}
    return any(c["type"] == "Approved" for c in (found.get("status") or {}).get("conditions") or [])


def test_new_kubelet_is_approved_during_the_run_and_renewals_by_the_timer(
    lab: RunningLab, node: str, tmp_path: Path
) -> None:
    address = lab.address(node)
    user = f"system:node:{node}"
    double = FakeKubeApi()
    kind = double.resolve("/apis/certificates.k8s.io/v1/certificatesigningrequests")[0]
    double.create(kind, "", csr("first", user, request(user, (node,), (address,))))
    double.create(kind, "", csr("foreign", user, request(user, (node, "kubernetes"), (address,))))
    new_config = "rotateCertificates: true\nserverTLSBootstrap: true\n"
    with serve_tls(double, tmp_path, address=str(lab.status.plan.gateway)) as kubeconfig:
        prepare(lab, node, kubeconfig, new_config)

        rc, log, stats = play(lab, node, tmp_path)
        assert rc == 0, log[-6000:]
        assert stats["changed"] > 0
        assert approved(double, "first")
        assert not approved(double, "foreign")
        assert lab.ssh(node, f"systemctl is-enabled {UNIT}.timer").stdout.strip() == "enabled"
        assert lab.ssh(node, f"systemctl is-active {UNIT}.timer").stdout.strip() == "active"
        nodes_file = "/etc/kubernetes/kubeadm/kubelet-serving-nodes.json"
        assert lab.ssh(node, f"stat -c %a {nodes_file}").stdout.strip() == "600"
        assert json.loads(lab.ssh(node, f"cat {nodes_file}").stdout)[node] == [node, address]

        rc, log, stats = play(lab, node, tmp_path)
        assert rc == 0, log[-6000:]
        assert stats["changed"] == 0, log[-6000:]

        # A renewal later on: the timer's service approves it, hardening and all.
        double.create(kind, "", csr("renewal", user, request(user, (node,), (address,))))
        lab.ssh(node, f"systemctl start {UNIT}.service")
        deadline = time.monotonic() + 60
        while not approved(double, "renewal") and time.monotonic() < deadline:
            time.sleep(1)
        assert approved(double, "renewal"), lab.ssh(
            node, f"journalctl -u {UNIT} -n 20", check=False
        ).stdout
        assert not approved(double, "foreign")


def test_kubelet_of_an_earlier_release_is_brought_over_and_approved(
    lab: RunningLab, node: str, tmp_path: Path
) -> None:
    if lab.ssh(node, "systemctl cat kubelet", check=False).returncode == 0:
        pytest.skip("the lab node has a kubelet of its own")
    address = lab.address(node)
    user = f"system:node:{node}"
    double = FakeKubeApi()
    add_kubelet_configmap(double, OLD_KUBELET_CONFIG)
    kind = double.resolve("/apis/certificates.k8s.io/v1/certificatesigningrequests")[0]
    # The request kubelet sends once restarted with serverTLSBootstrap.
    double.create(kind, "", csr("restarted", user, request(user, (node,), (address,))))
    with serve_tls(double, tmp_path, address=str(lab.status.plan.gateway)) as kubeconfig:
        prepare(lab, node, kubeconfig, OLD_KUBELET_CONFIG)
        put(lab, node, "/etc/systemd/system/kubelet.service", FAKE_KUBELET.read_bytes(), "0644")
        lab.ssh(node, f"rm -f {STARTS} && systemctl daemon-reload && systemctl start kubelet")

        rc, log, stats = play(lab, node, tmp_path)
        assert rc == 0, log[-6000:]
        assert stats["changed"] > 0
        config = lab.ssh(node, "cat /var/lib/kubelet/config.yaml").stdout
        assert config == OLD_KUBELET_CONFIG + "serverTLSBootstrap: true\n"
        old = yaml.safe_load(OLD_KUBELET_CONFIG)
        assert cluster_kubelet_config(double) == {**old, "serverTLSBootstrap": True}
        assert lab.ssh(node, f"cat {STARTS}").stdout.splitlines() == ["started"] * 2
        assert approved(double, "restarted")

        revision = double.find("ConfigMap", "kube-system", "kubelet-config") or {}
        rc, log, stats = play(lab, node, tmp_path)
        assert rc == 0, log[-6000:]
        assert stats["changed"] == 0, log[-6000:]
        assert lab.ssh(node, f"cat {STARTS}").stdout.splitlines() == ["started"] * 2
        after = double.find("ConfigMap", "kube-system", "kubelet-config") or {}
        assert after["metadata"]["resourceVersion"] == revision["metadata"]["resourceVersion"]

        # A run stopped after the edit but before the restart: the next one restarts.
        lab.ssh(node, "touch /etc/kubernetes/kubeadm/kubelet-restart.pending")
        rc, log, stats = play(lab, node, tmp_path)
        assert rc == 0, log[-6000:]
        assert lab.ssh(node, f"cat {STARTS}").stdout.splitlines() == ["started"] * 3
        assert (
            lab.ssh(
                node, "test -e /etc/kubernetes/kubeadm/kubelet-restart.pending", check=False
            ).returncode
            == 1
        )
