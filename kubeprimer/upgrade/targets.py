"""The plan's two inputs from the probe and the inventory: what runs (``Current``) and what
the inventory asks for (``Targets``), resolved by kubeprimer/upgrade/wanted.py as the
roles resolve them, so the plan and the cluster.up guard never disagree on a version."""

from __future__ import annotations

from kubeprimer.inventory import Inventory
from kubeprimer.upgrade import wanted
from kubeprimer.upgrade.plan import Current, Targets
from kubeprimer.upgrade.running import Running


def current(running: Running) -> Current:
    return Current(
        apiserver=running.apiserver,
        kubelet=running.kubelets,
        containerd=running.containerd,
        cni=running.cni.version if running.cni else None,
        etcd={name: member.version for name, member in running.etcd.items()},
    )


def of(inv: Inventory, running: Running) -> Targets:
    """What ``inv`` asks for; a node's containerd package follows its Debian release."""
    nodes = {h.name: h for h in (*inv.group("kube_control_plane"), *inv.group("kube_node"))}
    images = {name: node.os_image for name, node in running.nodes.items()}
    name, cni = wanted.cni(inv)
    external = inv.etcd_external
    return Targets(
        kubernetes=wanted.kubernetes(inv) or str(inv.settings.get("kube_version", "")),
        containerd={
            host: wanted.containerd(inv, node, images.get(host, ""))[0]
            for host, node in nodes.items()
        },
        cni=cni,
        cni_name=name,
        etcd=wanted.etcd(inv) if external and inv.group("etcd") else None,
    )
