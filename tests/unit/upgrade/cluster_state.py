"""A cluster that runs, for the upgrade checks: an inventory beside its admin kubeconfig,
and the Kubernetes API TEST DOUBLE (tests/doubles/fake_kube_api.py) holding the nodes
and the pod network's DaemonSet at chosen versions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubeprimer import pins
from kubeprimer.inventory import Inventory, load
from tests.doubles.fake_kube_api import FakeKubeApi

KUBE = str(pins.load()["kubernetes"]["version"])
CONTAINERD = str(pins.load()["containerd"]["version"])
FLANNEL = str(pins.load()["flannel"]["version"])
ETCD = str(pins.load()["etcd"]["version"])
BOOKWORM = "Debian GNU/Linux 12 (bookworm)"


@dataclass
class VersionedApi(FakeKubeApi):
    """The double, reporting ``release`` on /version as a cluster of that release does."""

    release: str = f"v{KUBE}"

    def discovery(self, path: str) -> dict[str, Any] | None:
        if path == "/version":
            major, minor = self.release.lstrip("v").split(".")[:2]
            return {"major": major, "minor": minor, "gitVersion": self.release}
        return super().discovery(path)


def node(api: FakeKubeApi, name: str, kubelet: str, containerd: str, ready: bool = True) -> None:
    """A registered node whose kubelet reports these versions and Ready condition."""
    nodes = api.resolve("/api/v1/nodes")[0]
    info = {
        "kubeletVersion": f"v{kubelet}",
        "containerRuntimeVersion": f"containerd://{containerd}",
        "osImage": BOOKWORM,
    }
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    body["status"] = {"nodeInfo": info, "conditions": [condition]}
    api.create(nodes, "", body)


def flannel(api: FakeKubeApi, version: str = FLANNEL) -> None:
    """roles/cni's flannel DaemonSet, as its manifest names it and its images."""
    namespaces = api.resolve("/api/v1/namespaces")[0]
    api.create(
        namespaces,
        "",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-flannel"}},
    )
    containers = [{"name": "kube-flannel", "image": f"ghcr.io/flannel-io/flannel:{version}"}]
    init = [
        {
            "name": "install-cni-plugin",
            "image": "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3",
        }
    ]
    body = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "kube-flannel-ds", "namespace": "kube-flannel"},
        "spec": {"template": {"spec": {"initContainers": init, "containers": containers}}},
    }
    api.create(
        api.resolve("/apis/apps/v1/namespaces/kube-flannel/daemonsets")[0], "kube-flannel", body
    )


def inventory(
    folder: Path,
    settings: dict[str, Any] | None = None,
    workers: tuple[str, ...] = ("w1",),
    etcd: tuple[str, ...] = (),
    host_vars: dict[str, dict[str, Any]] | None = None,
) -> Inventory:
    """cp1 and ``workers`` (and external etcd members), unreachable addresses (TEST-NET)."""

    def group(names: tuple[str, ...], first: int) -> dict[str, Any]:
        return {n: {"ansible_host": f"192.0.2.{first + i}"} for i, n in enumerate(names)}

    children: dict[str, Any] = {
        "kube_control_plane": {"hosts": group(("cp1",), 10)},
        "kube_node": {"hosts": group(workers, 20)},
    }
    if etcd:
        children["etcd"] = {"hosts": group(etcd, 40)}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "group_vars").mkdir(exist_ok=True)
    all_vars = {"kube_cni": "flannel", **(settings or {})}
    if etcd:
        all_vars.setdefault("etcd_mode", "external")
    (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(all_vars))
    for name, values in (host_vars or {}).items():
        (folder / "host_vars").mkdir(exist_ok=True)
        (folder / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump(values))
    (folder / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": children}}))
    return load(folder / "hosts.yml")
