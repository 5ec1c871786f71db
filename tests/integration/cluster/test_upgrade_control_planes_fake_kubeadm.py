"""playbooks/upgrade.yml's apply and control-plane steps on the stand-in hosts of
tests/integration/cluster/conftest.py (mount namespaces on this machine: three control
planes and a worker), with tests/doubles/fake-kubeadm as kubeadm and the new kubeadm
from tests/doubles/artifact_mirror (installed in a folder of the test, never in this
machine's /usr/local/bin).

Three control planes at Kubernetes 1.36.4 as cluster.up left them: the apply step runs
`kubeadm upgrade apply` on the first only; the control-plane step, limited to the two
others as cluster.upgrade limits it, runs `kubeadm upgrade node` on each, one at a
time; every upgraded control plane ends with its manifests at 1.37.1, its kubelet
configuration and renewed certificate at 0600; the worker is never touched; the same
step run again changes nothing."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer import pins
from kubeprimer.paths import PLAYBOOKS
from tests.doubles import artifact_mirror

from . import conftest
from .conftest import Cluster
from .hosts import FakeHost

pytestmark = pytest.mark.integration

OLD, NEW = "v1.36.4", "v1.37.1"
KUBELET = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration"}


def put(host: FakeHost, path: str, text: str) -> None:
    script = (
        f"mkdir -p $(dirname {path}) && printf %s {shlex.quote(text)} > {path} && chmod 0600 {path}"
    )
    done = host.run("sh", "-c", script)
    assert done.returncode == 0, done.stderr


def at_old_version(host: FakeHost, first: bool) -> None:
    """What kubeadm and cluster.up leave on a control plane."""
    put(host, "/etc/kubernetes/kubelet.conf", "fake\n")
    put(host, "/etc/kubernetes/pki/apiserver.crt", "FAKE CERTIFICATE\n")
    put(host, "/var/lib/kubelet/config.yaml", yaml.safe_dump(KUBELET))
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        image = f"registry.k8s.io/{name}:{OLD}"
        put(host, f"/etc/kubernetes/manifests/{name}.yaml", f"spec:\n  image: {image}\n")
    if first:
        put(host, "/etc/kubernetes/admin.conf", "fake\n")
        state = {"tokens": {}, "certificate_keys": [], "endpoint": "x", "version": OLD}
        put(host, "/var/lib/fake-kubeadm/cluster.json", json.dumps(state))


def upgrades(host: FakeHost) -> list[list[str]]:
    if not host.exists("/var/lib/fake-kubeadm/calls.jsonl"):
        return []
    lines = host.read("/var/lib/fake-kubeadm/calls.jsonl").splitlines()
    argvs: list[list[str]] = [json.loads(line)["argv"] for line in lines]
    return [a for a in argvs if a[:1] == ["upgrade"]]


@pytest.fixture
def upgrade_playbook(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in hosts' runner plays playbooks/upgrade.yml instead of the kubeadm role."""
    monkeypatch.setattr(conftest, "PLAYBOOK", PLAYBOOKS / "upgrade.yml")


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    found = pins.load()
    root = tmp_path / "mirror"
    crictl = found["crictl"]["minors"]["1.37"]["version"]
    artifact_mirror.build(root, NEW.lstrip("v"), crictl, found["cni_plugins"]["version"])
    with artifact_mirror.serve(root) as url:
        yield url


def settings(step: str, mirror: str, workdir: Path) -> str:
    values: dict[str, Any] = {
        "kubeprimer_upgrade_step": step,
        "kube_version": NEW.lstrip("v"),
        "kube_artifacts_mirror_url": mirror,
        # The stand-in hosts share this machine's /usr and /opt: keep the binaries in the test.
        "kube_artifacts_bin_dir": str(workdir / "bin"),
        "kube_artifacts_cni_bin_dir": str(workdir / "cni"),
    }
    return json.dumps(values)


def test_apply_on_the_first_control_plane_then_upgrade_node_on_the_others(
    cluster: Cluster, upgrade_playbook: None, mirror: str, tmp_path: Path
) -> None:
    for name in conftest.CONTROL_PLANES:
        at_old_version(cluster.hosts[name], first=name == "cp1")
    cp1, cp2, cp3, w1 = (cluster.hosts[n] for n in ("cp1", "cp2", "cp3", "w1"))

    applied = cluster.play("-e", settings("apply", mirror, tmp_path))
    assert applied.rc == 0, applied.log[-6000:]
    [apply] = upgrades(cp1)
    assert apply[:3] == ["upgrade", "apply", NEW]
    assert upgrades(cp2) == upgrades(cp3) == upgrades(w1) == []
    assert (tmp_path / "bin" / "kubeadm").read_text().strip().endswith(f"kubeadm {NEW}'")

    joined = cluster.play("--limit", "cp2,cp3", "-e", settings("control-plane", mirror, tmp_path))
    assert joined.rc == 0, joined.log[-6000:]
    node = ["upgrade", "node", "--config=/etc/kubernetes/kubeadm/upgrade.yaml"]
    assert upgrades(cp2) == upgrades(cp3) == [node]
    assert len(upgrades(cp1)) == 1 and upgrades(w1) == []
    assert joined.recap["cp2"]["changed"] > 0 and joined.recap["cp3"]["changed"] > 0
    for host in (cp1, cp2, cp3):
        assert f"kube-apiserver:{NEW}" in host.read("/etc/kubernetes/manifests/kube-apiserver.yaml")
        assert host.mode("/var/lib/kubelet/config.yaml") == "600"
        assert yaml.safe_load(host.read("/var/lib/kubelet/config.yaml"))["readOnlyPort"] == 0
        assert host.mode("/etc/kubernetes/pki/apiserver.crt") == "600"
    assert not w1.exists("/etc/kubernetes/kubeadm/upgrade.yaml")

    again = cluster.play("--limit", "cp2,cp3", "-e", settings("control-plane", mirror, tmp_path))
    assert again.rc == 0, again.log[-6000:]
    assert again.recap["cp2"]["changed"] == 0 and again.recap["cp3"]["changed"] == 0, again.log
    assert len(upgrades(cp2)) == len(upgrades(cp3)) == 1
