"""The kubeadm role's Pod Security labels on a lab node (over SSH), with the real kubectl
on the node talking to tests/doubles/fake_kube_api on the lab bridge: kube-system is
labelled privileged with the labels a cluster-wide baseline leaves it, a second run
changes nothing, and a listed namespace the cluster lacks is refused in one sentence."""

from __future__ import annotations

from pathlib import Path

from tests.doubles.fake_kube_api import FakeKubeApi
from tests.integration.conftest import RunningLab
from tests.integration.playbook import play_roles

from .conftest import recap
from .test_kubelet_serving_lab_nodes import node, prepare
from .tls_api import serve_tls

__all__ = ["node"]

PRIVILEGED = {
    f"pod-security.kubernetes.io/{mode}": "privileged" for mode in ("enforce", "audit", "warn")
}


def play(lab: RunningLab, host: str, tmp_path: Path, *extra: str) -> tuple[int, str, int]:
    steps = [("kube_defaults", "main"), ("kubeadm", "pod-security-labels")]
    kubectl = "kubeadm_kubectl_binary=/usr/local/bin/kubectl-no-openapi"
    done = play_roles(lab.inventory, host, steps, tmp_path, "--extra-vars", kubectl, *extra)
    changed = recap(done.stdout).get(host, {}).get("changed", -1)
    return done.returncode, done.stdout + done.stderr, changed


def labels(double: FakeKubeApi, name: str) -> dict[str, str]:
    found = double.find("Namespace", "", name) or {}
    return dict(found["metadata"].get("labels") or {})


def test_kube_system_is_labelled_privileged_once(
    lab: RunningLab, node: str, tmp_path: Path
) -> None:
    double = FakeKubeApi()
    with serve_tls(double, tmp_path, address=str(lab.status.plan.gateway)) as kubeconfig:
        prepare(lab, node, kubeconfig, "")

        rc, log, changed = play(lab, node, tmp_path)
        assert rc == 0, log[-6000:]
        assert changed == 1, log[-6000:]
        assert labels(double, "kube-system") == PRIVILEGED
        assert labels(double, "default") == {}, "only the listed namespaces"

        rc, log, changed = play(lab, node, tmp_path)
        assert rc == 0, log[-6000:]
        assert changed == 0, log[-6000:]

        missing = '{"kubeadm_pod_security_privileged_namespaces": ["kube-system", "cni"]}'
        rc, log, _ = play(lab, node, tmp_path, "--extra-vars", missing)
        assert rc != 0
        assert "names cni, which the cluster does not have" in log
