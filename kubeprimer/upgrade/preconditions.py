"""Every reason not to start a cluster.upgrade, found before its first change: version
moves the skew rules refuse (kubeprimer/upgrade/rules.py), an unhealthy cluster (a node
not Ready, an etcd member not healthy) and PodDisruptionBudgets that would block a drain,
each one sentence, all of them at once (exit 2).

Nodes an interrupted run left half-way (cordoned, or not Ready after their host step)
are that run's to finish, not a sick cluster: the record lists them as begun.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory
from kubeprimer.upgrade import rules, wanted
from kubeprimer.upgrade.plan import NODE, Plan
from kubeprimer.upgrade.running import Running


def _refused(check: Callable[[], None]) -> list[str]:
    try:
        check()
    except UserError as error:
        return error.messages
    return []


def versions(inv: Inventory, found: Running) -> Iterator[str]:
    """The moves rules.py refuses: Kubernetes and etcd skipping a minor or going down or
    outside the supported minors, and a kubelet newer than the API server."""
    want = wanted.kubernetes(inv)
    apiserver = found.apiserver
    if apiserver and want:
        yield from _refused(functools.partial(rules.kubernetes, apiserver, want))
    for node, kubelet in sorted(found.kubelets.items()):
        if apiserver and kubelet:
            yield from _refused(functools.partial(rules.kubelet, node, kubelet, apiserver))
    etcd = wanted.etcd(inv) if found.etcd else None
    for member, state in sorted(found.etcd.items()):
        if etcd and state.version:
            yield from _refused(functools.partial(rules.etcd, state.version, etcd, member))


def health(found: Running, begun: list[str]) -> Iterator[str]:
    """Nodes not Ready and etcd members not healthy, but those the record left half-way."""
    mid = {unit.split(":", 1)[1] for unit in begun if unit.startswith(f"{NODE}:")}
    for name, node in sorted(found.nodes.items()):
        if not node.ready and name not in mid:
            yield (
                f"The node {name} is not Ready, so the cluster is not healthy enough to "
                f"upgrade; bring it back (kubectl describe node {name} says why) or remove it, "
                "then run again."
            )
    for member, state in sorted(found.etcd.items()):
        if state.data and state.healthy is not True:
            yield (
                f"The etcd member {member} is not healthy, so an upgrade could lose quorum; "
                "bring it back (journalctl -u etcd on it says why), then run again."
            )


def budgets(api: Any, nodes: list[str]) -> Iterator[str]:
    """Each PodDisruptionBudget that would block draining ``nodes`` (drain.py's reading)."""
    from kubeprimer.cluster.drain import blocking_budgets

    for line in blocking_budgets(api, nodes):
        yield (
            f"The PodDisruptionBudget {line}, so it would block a drain; scale that workload "
            "up or relax the budget before the upgrade cordons any node."
        )


def problems(
    inv: Inventory,
    found: Running,
    plan: Plan,
    begun: list[str],
    connect: Callable[[], Any],
) -> list[str]:
    """Every refusal at once; ``connect`` gives the API client, only when nodes are drained."""
    found_problems = [*versions(inv, found), *health(found, begun)]
    drained = [h for step in plan.pending if step.kind == NODE for h in step.hosts]
    if drained:
        found_problems += budgets(connect(), drained)
    return found_problems
