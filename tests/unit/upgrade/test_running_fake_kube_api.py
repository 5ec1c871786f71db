"""What running.probe reads from the Kubernetes API TEST DOUBLE: the API server's
release, each node's kubelet and containerd, and the pod network roles/cni deployed."""

from __future__ import annotations

from pathlib import Path

from kubeprimer.upgrade import running
from tests.unit.upgrade.cluster_state import (
    CONTAINERD,
    KUBE,
    VersionedApi,
    flannel,
    inventory,
    node,
)


def daemonset(api: VersionedApi, namespace: str, name: str, images: list[str]) -> None:
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    body = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": containers}}},
    }
    kind = api.resolve(f"/apis/apps/v1/namespaces/{namespace}/daemonsets")[0]
    api.create(kind, namespace, body)


def probe(api: VersionedApi, tmp_path: Path) -> running.Running:
    tmp_path.mkdir(parents=True, exist_ok=True)
    with api.serve(tmp_path) as kubeconfig:
        return running.probe(inventory(tmp_path / "inv"), kubeconfig=kubeconfig)


def test_versions_of_the_api_server_kubelets_and_containerd(tmp_path: Path) -> None:
    api = VersionedApi(release="v1.36.4")
    node(api, "cp1", "1.36.4", CONTAINERD)
    node(api, "w1", "1.35.9", "1.7.24~ds1", ready=False)
    flannel(api)
    found = probe(api, tmp_path)
    assert found.apiserver == "v1.36.4" and found.made and found.unknown == []
    assert found.kubelets == {"cp1": "v1.36.4", "w1": "v1.35.9"}
    assert found.containerd == {"cp1": CONTAINERD, "w1": "1.7.24~ds1"}
    assert found.nodes["w1"].ready is False and found.nodes["cp1"].ready is True
    assert found.nodes["cp1"].os_image == "Debian GNU/Linux 12 (bookworm)"


def test_another_runtime_is_not_read_as_containerd(tmp_path: Path) -> None:
    api = VersionedApi()
    node(api, "cp1", KUBE, CONTAINERD)
    api.objects[("", "nodes", "", "cp1")]["status"]["nodeInfo"]["containerRuntimeVersion"] = (
        "cri-o://1.33.0"
    )
    assert probe(api, tmp_path).containerd == {"cp1": None}


def test_flannel_is_read_from_its_container_not_its_cni_plugin(tmp_path: Path) -> None:
    api = VersionedApi()
    flannel(api, "v0.28.9")
    assert probe(api, tmp_path).cni == running.Cni("flannel", "v0.28.9")


def test_calico_and_weave_from_a_mirror_registry(tmp_path: Path) -> None:
    calico = VersionedApi()
    daemonset(calico, "kube-system", "calico-node", ["mirror.example:5000/calico/node:v3.32.1"])
    assert probe(calico, tmp_path / "c").cni == running.Cni("calico", "v3.32.1")
    weave = VersionedApi()
    images = ["docker.io/weaveworks/weave-kube:2.8.1", "docker.io/weaveworks/weave-npc:2.8.1"]
    daemonset(weave, "kube-system", "weave-net", images)
    assert probe(weave, tmp_path / "w").cni == running.Cni("weave", "2.8.1")


def test_a_cluster_without_a_pod_network_yet(tmp_path: Path) -> None:
    found = probe(VersionedApi(), tmp_path)
    assert found.cni is None and found.nodes == {} and not found.nothing


def test_an_unusable_kubeconfig_is_said_not_raised(tmp_path: Path) -> None:
    admin = tmp_path / "artifacts" / "admin.conf"
    admin.parent.mkdir(parents=True)
    admin.write_text("- not a kubeconfig\n")
    found = running.probe(inventory(tmp_path))
    assert found.apiserver is None and found.made
    (said,) = found.unknown
    assert said.startswith("The Kubernetes versions could not be read (")
