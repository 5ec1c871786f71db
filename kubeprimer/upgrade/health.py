"""Stop an upgrade before its first change when the cluster is not healthy, or when a
PodDisruptionBudget would block a drain (kubespray #8093, #10029, #12297: a drain that
hangs half-way through the nodes).

Unhealthy: a node that is not Ready, or an etcd member that is not healthy (external:
each member's own /health, read by kubeprimer/upgrade/running.py; stacked: the etcd
static pod's Ready condition, through the API). Each check is one sentence listing
everything it found, so one round of fixes is enough.
"""

from __future__ import annotations

from typing import Any

from kubeprimer.errors import UserError, raise_if
from kubeprimer.inventory import Inventory
from kubeprimer.upgrade.running import Running

# What kubeadm labels its etcd static pods with (kube-system, one per control plane).
STACKED_ETCD = "component=etcd,tier=control-plane"


def unhealthy(api: Any, inv: Inventory, running: Running) -> list[str]:
    """What is wrong, one phrase each: nodes not Ready, etcd members not healthy."""
    found = [f"node {name} is not Ready" for name, node in running.nodes.items() if not node.ready]
    found += [
        f"the inventory's node {host.name} has not joined (join it with invoke cluster.up "
        "at the running versions first)"
        for host in [*inv.group("kube_control_plane"), *inv.group("kube_node")]
        if running.nodes and host.name not in running.nodes
    ]
    if inv.etcd_external:
        for name, member in sorted(running.etcd.items()):
            if member.healthy is None:
                found.append(f"etcd on {name} did not answer")
            elif not member.healthy:
                found.append(f"etcd on {name} is not healthy")
    else:
        found += _stacked_etcd(api, [h.name for h in inv.group("kube_control_plane")])
    return found


def _stacked_etcd(api: Any, control_planes: list[str]) -> list[str]:
    from kubeprimer.addons.kube import refusals, resource

    with refusals():
        pods = api.get(
            resource(api, "v1", "Pod"), namespace="kube-system", label_selector=STACKED_ETCD
        ).to_dict()
    ready: dict[str, bool] = {}
    for pod in pods.get("items") or []:
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        conditions = (pod.get("status") or {}).get("conditions") or []
        ready[node] = any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
        )
    return [
        f"etcd on {name} is not Ready" if name in ready else f"etcd on {name} has no pod"
        for name in control_planes
        if not ready.get(name)
    ]


def check(api: Any, inv: Inventory, running: Running) -> None:
    """Refuse (exit 2) an unhealthy cluster, naming every problem in one sentence."""
    if running.made and running.apiserver is None:
        # A member that did not answer is named below with the rest; the API is needed first.
        raise_if(
            f"{line.rstrip('.')}; an upgrade needs the API server answering, so fix that and "
            "run invoke cluster.upgrade again."
            for line in running.unknown
            if not line.startswith("etcd on ")
        )
    found = unhealthy(api, inv, running)
    if found:
        raise UserError(
            f"The cluster is not healthy: {'; '.join(found)}; fix that first (kubectl describe "
            "node, the etcd member's journal) and run invoke cluster.upgrade again."
        )


def budgets(api: Any, nodes: list[str]) -> None:
    """Refuse (exit 2) when a PodDisruptionBudget allows no disruption of a pod on one of
    ``nodes``: the drain of its node would wait for it until the timeout. Every such
    budget is named, so all can be fixed before any node is cordoned."""
    from kubeprimer.cluster.drain import blocking_budgets

    blocking = blocking_budgets(api, nodes)
    if blocking:
        raise UserError(
            f"PodDisruptionBudgets would block draining the nodes: {'; '.join(blocking)}; "
            "scale those workloads up or relax the budgets, then run invoke cluster.upgrade "
            "again."
        )
