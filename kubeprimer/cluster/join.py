"""cluster.up --limit: join new hosts, touching only them and what must learn about them.

A new Kubernetes node needs the control planes: the first one hands out the join token,
every one lists the node for the kubelet serving-certificate approver, and a new control
plane becomes a haproxy backend and a keepalived peer on each. A new external etcd
member needs only itself: it is added to the membership from a live member during the
run (roles/etcd, add-member.yml). Other workers and etcd members are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubeprimer.cluster import etcd_members, removed
from kubeprimer.errors import UserError, raise_if
from kubeprimer.inventory import Inventory
from kubeprimer.upgrade import remote

KUBE_GROUPS = ("kube_control_plane", "kube_node")


@dataclass(frozen=True)
class Join:
    hosts: list[str]  # as the user named them
    limit: str  # the Ansible --limit pattern the run uses


def hosts_of(given: str) -> list[str]:
    return [h for h in re.split(r"[,\s]+", given.strip()) if h]


def plan(inv: Inventory, given: str) -> Join:
    """The hosts of ``--limit`` and the Ansible limit that covers what must learn about
    them; an unknown host is bad input."""
    hosts = hosts_of(given)
    if not hosts:
        raise UserError("--limit names no host; give the new hosts, e.g. --limit node4,node5.")
    unknown = [h for h in hosts if h not in inv.hosts]
    raise_if(
        f"--limit names {h}, which is not in {inv.path}; add it to the inventory first, or "
        f"pick from: {', '.join(sorted(inv.hosts))}."
        for h in unknown
    )
    touched = list(hosts)
    if any(inv.hosts[h].groups & set(KUBE_GROUPS) for h in hosts):
        touched += inv.groups.get("kube_control_plane", [])
    # The controller's own play keeps the CA the new hosts' certificates come from.
    return Join(hosts, ",".join([*dict.fromkeys(touched), "localhost"]))


def joining_members(inv: Inventory, hosts: list[str]) -> dict[str, str]:
    """The hosts of ``hosts`` that are etcd members (host: address)."""
    members = set(etcd_members.member_hosts(inv))
    return {h: etcd_members.member_address(inv, h) for h in hosts if h in members}


def check_quorum(inv: Inventory, hosts: list[str], run: remote.Runner | None = None) -> None:
    """Refuse a join that adds etcd members while the live ones are too few for the
    quorum of the larger cluster (dead members still count until removed)."""
    joining = joining_members(inv, hosts)
    if not joining:
        return
    ask = [h for h in etcd_members.member_hosts(inv) if h not in joining]
    found, _ = etcd_members.read(inv, ask, run=run)
    refusal = etcd_members.join_refusal(found, joining)
    if refusal:
        raise UserError(refusal)


def refuse_removed(inv: Inventory, hosts: list[str]) -> None:
    raise_if(removed.refusals(inv, readding=hosts))
