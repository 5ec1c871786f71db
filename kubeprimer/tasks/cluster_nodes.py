"""cluster.remove-node, and the checks cluster.up --limit runs before a join."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from kubeprimer.errors import UserError
from kubeprimer.output import console
from kubeprimer.tasks._common import (
    INVENTORY_HELP,
    KUBECONFIG_HELP,
    kubeconfig_path,
    load_inventory,
    play_on,
)
from kubeprimer.tasks._task import task

if TYPE_CHECKING:
    from rich.console import Console

    from kubeprimer.cluster.join import Join
    from kubeprimer.cluster.remove import Removal
    from kubeprimer.inventory import Inventory

DRAIN_TIMEOUT = 300


def before_up(inv: Inventory, limit: str | None) -> Join | None:
    """cluster.up's refusals about nodes, before any host is touched: removed hosts still
    in the inventory; with --limit, unknown hosts and a join that would lose etcd's quorum."""
    from kubeprimer.cluster import join

    joining = join.plan(inv, limit) if limit is not None else None
    join.refuse_removed(inv, joining.hosts if joining else [])
    if joining:
        join.check_quorum(inv, joining.hosts)
    return joining


def after_up(inv: Inventory, joining: Join | None) -> None:
    """Hosts named with --limit are in the cluster again: forget that they were removed."""
    from kubeprimer.cluster import removed

    if joining:
        removed.forget(inv, joining.hosts)


@task(
    name="remove-node",
    positional=["node"],
    help={
        "node": "inventory host to take out of the cluster, alive or dead",
        "yes": "do not ask: confirm the removal on the command line",
        "drain_timeout": f"seconds the drain may take (default {DRAIN_TIMEOUT})",
        "force": "also evict pods no controller would recreate (they are lost)",
        "inventory": INVENTORY_HELP,
        "kubeconfig": KUBECONFIG_HELP,
    },
)
def remove_node(
    c: Any,
    node: str,
    yes: bool = False,
    drain_timeout: int = DRAIN_TIMEOUT,
    force: bool = False,
    inventory: str | None = None,
    kubeconfig: str | None = None,
) -> None:
    """Take a node out of the cluster, alive or dead: drain, etcd member, clean-up."""
    from kubeprimer.cluster import remove, removed
    from kubeprimer.cluster.drain import node_object
    from kubeprimer.inventory import require_unlocked

    if drain_timeout <= 0:
        raise UserError(f"--drain-timeout is {drain_timeout}; give a number of seconds above 0.")
    inv = load_inventory(c, inventory)
    remove.static_refusals(inv, node)
    if not yes and not sys.stdin.isatty():
        raise UserError(
            f"cluster.remove-node takes {node} out of the cluster for good and needs "
            "confirmation: run it in a terminal, or add --yes."
        )
    require_unlocked(inv)
    out = console()
    plan = remove.inspect(inv, node)
    api = _connect(c, kubeconfig, inventory) if plan.kubernetes_node else None
    live = node_object(api, node) if api is not None else None
    out.print(f"Removing {node} ({', '.join(plan.roles)}):")
    for step in plan.steps():
        out.print(f"  - {step}")
    if not yes:
        _confirm(node)
    if live is not None:
        _drain(out, api, node, live, drain_timeout, force)
    _host_steps(c, inv, plan)
    if live is not None:
        _delete_node(api, node)
    removed.record(inv, node, plan.roles)
    _tell_inventory(out, inv, plan)


def _connect(c: Any, kubeconfig: str | None, inventory: str | None) -> Any:
    from kubeprimer.addons.kube import connect

    return connect(kubeconfig_path(c, kubeconfig, inventory))


def _confirm(node: str) -> None:
    answer = input(f"Remove {node} from the cluster? Type yes to go on: ").strip().lower()
    if answer != "yes":
        raise UserError("The removal was not confirmed, so nothing was changed; run it again.")


def _drain(
    out: Console, api: Any, node: str, live: dict[str, Any], timeout: int, force: bool
) -> None:
    """A node whose kubelet answers is drained; a dead one's pods cannot terminate, so it
    is only cordoned, and its pods go with the Node object (their controllers start them
    elsewhere)."""
    from kubeprimer.cluster import drain

    ready, why = drain.ready(live)
    if ready:
        out.print(f"Draining {node} (at most {timeout} s)...")
        drain.drain(api, node, float(timeout), force=force)
        return
    out.print(f"{node} is not Ready ({why}): cordoned only; its pods go with its Node object.")
    drain.cordon(api, node)


def _host_steps(c: Any, inv: Inventory, plan: Removal) -> None:
    touch = [h for h in inv.groups.get("kube_control_plane", []) if h != plan.node]
    touch = touch if plan.control_plane else []
    touch += [plan.via] if plan.via else []
    touch += [plan.node] if plan.alive else []
    if not touch:
        return
    play_on(
        c,
        "remove_node.yml",
        inv,
        limit=",".join(dict.fromkeys(touch)),
        extravars={
            "kubeprimer_remove_node": plan.node,
            "kubeprimer_remove_etcd_via": plan.via,
        },
    )


def _delete_node(api: Any, node: str) -> None:
    from kubernetes.dynamic.exceptions import NotFoundError

    from kubeprimer.addons.kube import refusals, resource

    try:
        with refusals():
            api.delete(resource(api, "v1", "Node"), name=node)
    except NotFoundError:
        pass  # gone already: a second run finishing the first


def _tell_inventory(out: Console, inv: Inventory, plan: Removal) -> None:
    groups = sorted(inv.hosts[plan.node].groups)
    out.print(
        f"{plan.node} is out of the cluster. Now delete it from {inv.path} (groups: "
        f"{', '.join(groups)}); until then cluster.up refuses to run "
        f"(invoke cluster.up --limit {plan.node} adds it back on purpose)."
    )
    if plan.etcd_member and not plan.control_plane:
        out.print(
            "The etcd group must keep an odd number of members: add the replacement host "
            "there in the same edit, then run invoke cluster.up --limit NEW_HOST to join it."
        )
    if not plan.alive:
        why = "a kubelet that comes back registers its Node again, and " * plan.kubernetes_node
        out.print(
            f"{plan.node} did not answer, so it was not cleaned: wipe it before it is used "
            f"again ({why}its disk still holds its certificates)."
        )
