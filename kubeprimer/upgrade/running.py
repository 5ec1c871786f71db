"""What the cluster runs now: the API server, each node's kubelet and containerd, the
pod network and its version, and each external etcd member.

Read through the admin kubeconfig cluster.up fetched (kubeprimer/cluster/kubeconfig.py)
and, for external etcd, from each member over SSH (kubeprimer/upgrade/etcd_member.py),
so that a dead member leaves only its own version unknown. A cluster that does not
exist yet (no admin kubeconfig, no etcd data) reads as nothing running; a part that
cannot be read is None and said in ``unknown``.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeprimer import yamlfile
from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory
from kubeprimer.paths import ROLES
from kubeprimer.preflight.remote import PYTHON
from kubeprimer.upgrade import remote

MEMBER_PROBE = Path(__file__).with_name("etcd_member.py")
# Where roles/cni's manifests (roles/cni/templates) put each network's DaemonSet, and
# the image (after the registry) whose tag is the release: kube_cni -> (namespace,
# DaemonSet, image name).
CNI_DAEMONSETS = {
    "flannel": ("kube-flannel", "kube-flannel-ds", "flannel"),
    "calico": ("kube-system", "calico-node", "node"),
    "weave": ("kube-system", "weave-net", "weave-kube"),
}


@dataclass(frozen=True)
class Node:
    """One node as the API server knows it."""

    kubelet: str | None
    containerd: str | None
    ready: bool
    os_image: str = ""


@dataclass(frozen=True)
class Cni:
    name: str
    version: str | None


@dataclass(frozen=True)
class Member:
    """One external etcd member: its server version and health, None where unknown;
    ``data`` False means etcd was never started there."""

    version: str | None
    healthy: bool | None
    data: bool = True


@dataclass
class Running:
    apiserver: str | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    cni: Cni | None = None
    etcd: dict[str, Member] = field(default_factory=dict)
    # One sentence per part that could not be read.
    unknown: list[str] = field(default_factory=list)
    # The admin kubeconfig exists: a cluster was made, even when it cannot be reached.
    made: bool = False

    @property
    def kubelets(self) -> dict[str, str | None]:
        return {name: node.kubelet for name, node in self.nodes.items()}

    @property
    def containerd(self) -> dict[str, str | None]:
        return {name: node.containerd for name, node in self.nodes.items()}

    @property
    def nothing(self) -> bool:
        """No part of a cluster runs, or was ever made: a fresh install."""
        return not self.made and not any(m.data for m in self.etcd.values())


def probe(
    inv: Inventory,
    *,
    kubeconfig: Path | None = None,
    runs_dir: Path | None = None,
    connect: Callable[[Path], Any] | None = None,
    run: remote.Runner | None = None,
) -> Running:
    """What runs now on the cluster of ``inv`` (``kubeconfig``: its admin kubeconfig)."""
    from kubeprimer.cluster.kubeconfig import admin_kubeconfig

    found = Running()
    path = kubeconfig or admin_kubeconfig(inv)
    if path.is_file():
        found.made = True
        _kubernetes(found, path, connect)
    if inv.etcd_external and inv.group("etcd"):
        _external_etcd(found, inv, run or _runner(runs_dir))
    return found


def _runner(runs_dir: Path | None) -> remote.Runner:
    def run(
        inv: Inventory, hosts: list[str], command: str, timeout: int
    ) -> dict[str, remote.Answer]:
        return remote.run(inv, hosts, command, timeout, runs_dir)

    return run


def _kubernetes(found: Running, kubeconfig: Path, connect: Callable[[Path], Any] | None) -> None:
    from kubeprimer.addons import kube

    try:
        api = (connect or kube.connect)(kubeconfig)
        with kube.refusals():
            found.apiserver = str(api.version["kubernetes"]["gitVersion"])
            found.nodes = nodes(api)
            found.cni = cni(api)
    except UserError as error:
        found.unknown.append(
            f"The Kubernetes versions could not be read ({error}); the API server, kubelets, "
            "containerd and the pod network are unknown."
        )
    except Exception as error:  # the client's own errors: a server that answered badly
        found.unknown.append(
            f"The Kubernetes versions could not be read ({error.__class__.__name__}: "
            f"{_first_line(error)}); the API server, kubelets, containerd and the pod "
            "network are unknown."
        )


def nodes(api: Any) -> dict[str, Node]:
    """Every node's kubelet and container runtime versions and its Ready condition."""
    from kubeprimer.addons.kube import resource

    found: dict[str, Node] = {}
    for item in api.get(resource(api, "v1", "Node")).to_dict().get("items") or []:
        status = item.get("status") or {}
        info = status.get("nodeInfo") or {}
        runtime = str(info.get("containerRuntimeVersion") or "")
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        found[item["metadata"]["name"]] = Node(
            kubelet=str(info["kubeletVersion"]) if info.get("kubeletVersion") else None,
            # Only containerd is managed here; another runtime's version says nothing of it.
            containerd=runtime.split("://", 1)[1] if runtime.startswith("containerd://") else None,
            ready=conditions.get("Ready") == "True",
            os_image=str(info.get("osImage") or ""),
        )
    return found


def cni(api: Any) -> Cni | None:
    """The pod network roles/cni deployed and the release its DaemonSet runs, or None."""
    from kubeprimer.addons.kube import fetch

    for name, (namespace, daemonset, image) in CNI_DAEMONSETS.items():
        found = fetch(api, "apps/v1", "DaemonSet", daemonset, namespace)
        if found is None:
            continue
        spec = found.to_dict()["spec"]["template"]["spec"]
        for container in spec.get("containers") or []:
            repository, _, tag = str(container.get("image") or "").rpartition(":")
            if repository.rpartition("/")[2] == image and "/" not in tag:
                return Cni(name, tag.split("@", 1)[0] or None)
        return Cni(name, None)
    return None


def _member_command(inv: Inventory) -> str:
    etcd_vars = yamlfile.read(ROLES / "etcd" / "vars" / "main.yml") or {}
    etcd_defaults = yamlfile.read(ROLES / "etcd" / "defaults" / "main.yml") or {}
    port = inv.settings.get("etcd_client_port", etcd_defaults.get("etcd_client_port", 2379))
    data = inv.settings.get("etcd_data_dir", etcd_defaults.get("etcd_data_dir", "/var/lib/etcd"))
    code = base64.b64encode(MEMBER_PROBE.read_bytes()).decode()
    runner = f"import base64;exec(compile(base64.b64decode('{code}'),'etcd_member','exec'))"
    args = (str(etcd_vars.get("_etcd_pki_dir", "/etc/etcd/pki")), str(port), str(data))
    return f"{PYTHON} -c {shlex.quote(runner)} {' '.join(shlex.quote(a) for a in args)}"


def _external_etcd(found: Running, inv: Inventory, run: remote.Runner) -> None:
    members = inv.groups.get("etcd", [])
    answers = run(inv, members, _member_command(inv), 10)
    for name in members:
        answer = answers.get(name) or remote.Answer(False, "", "no answer")
        data = answer.json_line() if answer.ok else None
        if data is None:
            found.etcd[name] = Member(None, None)
            found.unknown.append(
                f"etcd on {name} could not be asked its version ({answer.problem or 'no answer'})."
            )
            continue
        version = (data.get("version") or {}).get("etcdserver")
        health = data.get("health")
        healthy = None if health is None else str(health.get("health")) == "true"
        member = Member(str(version) if version else None, healthy, bool(data.get("data")))
        found.etcd[name] = member
        if member.data and member.version is None:
            found.unknown.append(
                f"etcd on {name} has data but did not answer ({data.get('error') or 'no answer'})."
            )


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]
