"""cluster.remove-node: what taking one host out of the cluster means, and its refusals.

A host may be a worker, a control plane (with stacked etcd also an etcd member, and a
haproxy backend and keepalived peer of the others) and an external etcd member at
once; each of those roles adds its steps. Every refusal is decided before anything is
touched: a host not in the inventory, the last control plane, and a removal that would
lose etcd's quorum (read from a live member, so the host may be dead).
"""

from __future__ import annotations

from dataclasses import dataclass

from kubeprimer.cluster import etcd_members
from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory
from kubeprimer.upgrade import remote


@dataclass(frozen=True)
class Removal:
    node: str
    control_plane: bool
    worker: bool
    etcd_member: bool  # stacked on a control plane, or in the external etcd group
    membership: etcd_members.Membership | None
    alive: bool  # the host answers over SSH
    via: str  # the live member the etcd membership is changed through

    @property
    def kubernetes_node(self) -> bool:
        return self.control_plane or self.worker

    @property
    def roles(self) -> list[str]:
        named = (
            ("control plane", self.control_plane),
            ("worker", self.worker),
            ("etcd member", self.etcd_member),
        )
        return [name for name, has in named if has]

    def steps(self) -> list[str]:
        """What the run will do, in order, as the user reads it before confirming."""
        node, steps = self.node, []
        if self.kubernetes_node:
            steps.append(f"cordon {node} and evict its pods (respecting PodDisruptionBudgets)")
        if self.control_plane:
            steps.append(
                f"drop {node} from the haproxy backends and keepalived peers of the others"
            )
        if self.etcd_member and self.via:
            steps.append(f"remove {node}'s etcd member, through {self.via}")
        if self.alive:
            steps.append(f"clean {node}: {', '.join(self._cleaning())}")
        else:
            steps.append(f"leave {node} as it is: it does not answer over SSH")
        if self.kubernetes_node:
            steps.append(f"delete the Node {node}")
        return steps

    def _cleaning(self) -> list[str]:
        parts = []
        if self.kubernetes_node:
            parts += [
                "kubeadm reset",
                "containers",
                "CNI interfaces and /etc/cni/net.d",
                "kube-proxy and CNI firewall rules",
                "/var/lib/kubelet and /etc/kubernetes",
            ]
        if self.control_plane:
            parts.append("haproxy and keepalived stopped")
        if self.etcd_member and not self.control_plane:
            parts.append("etcd stopped and its data deleted")
        return parts


def roles_of(inv: Inventory, node: str) -> tuple[bool, bool, bool]:
    """(control plane, worker, etcd member) for ``node``; unknown nodes are bad input."""
    if node not in inv.hosts:
        raise UserError(
            f"{node} is not in {inv.path}; name a host of the inventory: "
            f"{', '.join(sorted(inv.hosts))}."
        )
    groups = inv.hosts[node].groups
    control_plane = "kube_control_plane" in groups
    return (
        control_plane,
        "kube_node" in groups,
        node in etcd_members.member_hosts(inv),
    )


def static_refusals(inv: Inventory, node: str) -> None:
    """What the inventory alone forbids: the last control plane, the last etcd member."""
    control_plane, _, member = roles_of(inv, node)
    if control_plane and inv.groups.get("kube_control_plane") == [node]:
        raise UserError(
            f"{node} is the last control plane; add another control plane with "
            "invoke cluster.up --limit first, or tear the whole cluster down instead."
        )
    if member and etcd_members.member_hosts(inv) == [node]:
        raise UserError(
            f"{node} is the only etcd member; removing it would delete the cluster's data."
        )


def inspect(inv: Inventory, node: str, run: remote.Runner | None = None) -> Removal:
    """Ask the live members for the etcd membership, and the node whether it answers;
    refuse a removal that would lose etcd's quorum. Changes nothing."""
    control_plane, worker, member = roles_of(inv, node)
    ask = [h for h in etcd_members.member_hosts(inv) if h != node] if member else []
    found, answers = etcd_members.read(inv, ask, also=[node], run=run)
    alive = bool((answers.get(node) or remote.Answer(False, "")).ok)
    membership = found if member else None
    via = ""
    if member:
        refusal = etcd_members.removal_refusal(found, node, etcd_members.member_address(inv, node))
        if refusal:
            raise UserError(refusal)
        if found.find(node, etcd_members.member_address(inv, node)) is not None:
            via = found.via
    return Removal(node, control_plane, worker, member, membership, alive, via)
