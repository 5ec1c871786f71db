"""Every reason not to start a cluster.upgrade, found before its first change: version
moves the skew rules refuse (kubeprimer/upgrade/rules.py), an unhealthy cluster (a node
not Ready, an etcd member not healthy) and PodDisruptionBudgets that would block a drain
(kubeprimer/upgrade/health.py), each one sentence, all of them at once (exit 2).

Nodes an interrupted run left half-way (cordoned, or not Ready after their host step)
are that run's to finish, not a sick cluster: the record lists them as begun.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory
from kubeprimer.upgrade import health, rules, wanted
from kubeprimer.upgrade.plan import APPLY, NODE, Plan
from kubeprimer.upgrade.running import Running

# kubeadm's refusal to plan past its own release ("Specified version to upgrade to ...
# is higher than the kubeadm version ...").
OLDER_KUBEADM = "is higher than the kubeadm version"


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


def _begun_as_ready(found: Running, begun: list[str]) -> Running:
    """``found`` with the nodes an interrupted run left half-way counted as Ready: this
    run finishes them (drain again, host step, wait until Ready), it does not refuse."""
    mid = {unit.split(":", 1)[1] for unit in begun if unit.startswith(f"{NODE}:")}
    nodes = {
        name: dataclasses.replace(node, ready=True) if name in mid else node
        for name, node in found.nodes.items()
    }
    return dataclasses.replace(found, nodes=nodes)


def kubeadm(inv: Inventory, plan: Plan, runs_dir: Path | None) -> list[str]:
    """kubeadm's own ``upgrade plan`` on the first control plane, before ``apply``.

    kubeadm plans no further than its own release, and the new kubeadm arrives with the
    apply step: while the first control plane still has an older one, kubeadm cannot be
    asked yet, and ``kubeadm upgrade apply`` makes the same checks itself before it
    changes anything."""
    from kubeprimer.upgrade import kubeadm_plan

    if not any(step.kind == APPLY for step in plan.pending):
        return []
    first = inv.group("kube_control_plane")[0]
    binary = wanted.value(inv, first, "kubeadm_binary", "kubeadm") or kubeadm_plan.DEFAULT_KUBEADM
    refused = _refused(
        functools.partial(kubeadm_plan.check, inv, plan.target, kubeadm=binary, runs_dir=runs_dir)
    )
    return [m for m in refused if OLDER_KUBEADM not in m]


def problems(
    inv: Inventory,
    found: Running,
    plan: Plan,
    begun: list[str],
    connect: Callable[[], Any],
    runs_dir: Path | None = None,
) -> list[str]:
    """Every refusal at once; ``connect`` gives the API client, only when nodes are drained."""
    found_problems = list(versions(inv, found))
    if found.made:
        found_problems += kubeadm(inv, plan, runs_dir)
        api = connect()
        found_problems += _refused(
            functools.partial(health.check, api, inv, _begun_as_ready(found, begun))
        )
        drained = [h for step in plan.pending if step.kind == NODE for h in step.hosts]
        if drained:
            found_problems += _refused(functools.partial(health.budgets, api, drained))
    elif found.etcd:
        # External etcd without a Kubernetes cluster yet: its members' health needs no API.
        found_problems += _refused(functools.partial(health.check, None, inv, found))
    return found_problems
