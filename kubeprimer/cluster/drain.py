"""Cordon, drain and readiness of one node, the way ``kubectl drain`` does them.

A drain marks the node unschedulable, then evicts its pods through the policy/v1
Eviction subresource, so that every PodDisruptionBudget is respected: the API server
answers 429 while a budget allows no disruption, and the eviction is tried again until
the timeout. Like ``kubectl drain --ignore-daemonsets --delete-emptydir-data``, pods
of a DaemonSet stay (their controller ignores the cordon and would start them again),
mirror pods stay (the API cannot delete them; the kubelet owns them), and pods with
emptyDir volumes are evicted (their scratch data goes with them). A pod that no
controller would recreate is refused, before anything changes, unless ``force`` is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kubeprimer.addons.kube import NotReady, reason, refusals, resource
from kubeprimer.errors import UserError

MIRROR = "kubernetes.io/config.mirror"
FINISHED = ("Succeeded", "Failed")
POLL = 2.0


class DrainTimeout(NotReady):
    """Evictions still refused when the drain's time ran out (exit 1, not a user error)."""


class NodeNotReady(NotReady):
    """A node that did not report Ready in time (exit 1)."""


class EvictionFailed(NotReady):
    """The API server refused an eviction for another reason than a budget (exit 1)."""


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    uid: str
    labels: dict[str, str]
    owner: str  # kind of the controlling owner, "" for a bare pod
    mirror: bool
    finished: bool

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Pod:
        meta = obj.get("metadata") or {}
        owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller")]
        return cls(
            namespace=meta.get("namespace", ""),
            name=meta["name"],
            uid=meta.get("uid", ""),
            labels=dict(meta.get("labels") or {}),
            owner=owners[0].get("kind", "") if owners else "",
            mirror=MIRROR in (meta.get("annotations") or {}),
            finished=(obj.get("status") or {}).get("phase") in FINISHED,
        )


# -- cordon --------------------------------------------------------------------------


def cordon(api: Any, node: str) -> bool:
    """Mark ``node`` unschedulable; False when it already was."""
    return _schedulable(api, node, False)


def uncordon(api: Any, node: str) -> bool:
    """Let the scheduler use ``node`` again; False when it already could."""
    return _schedulable(api, node, True)


def _schedulable(api: Any, node: str, wanted: bool) -> bool:
    nodes = resource(api, "v1", "Node")
    live = node_object(api, node)
    if live is None:
        raise UserError(
            f"The node {node} is not in the cluster (kubectl get nodes lists the names); "
            "check the host's node name in the inventory."
        )
    if (not (live.get("spec") or {}).get("unschedulable")) == wanted:
        return False
    # kubectl sends the same patch: null removes the field, which reads as schedulable.
    body = {"spec": {"unschedulable": None if wanted else True}}
    with refusals():
        api.patch(nodes, name=node, body=body, content_type="application/merge-patch+json")
    return True


def node_object(api: Any, node: str) -> dict[str, Any] | None:
    """The Node as the API server has it, or None when there is no such Node."""
    from kubernetes.dynamic.exceptions import NotFoundError

    try:
        with refusals():
            found: dict[str, Any] = api.get(resource(api, "v1", "Node"), name=node).to_dict()
    except NotFoundError:
        return None
    return found


# -- drain ---------------------------------------------------------------------------


def pods_on(api: Any, nodes: Iterable[str]) -> list[Pod]:
    """Every pod bound to one of ``nodes``, in all namespaces."""
    pods = resource(api, "v1", "Pod")
    found: list[Pod] = []
    for node in nodes:
        with refusals():
            listed = api.get(pods, field_selector=f"spec.nodeName={node}").to_dict()
        found += [Pod.of(item) for item in listed.get("items") or []]
    return found


def evictable(pods: Iterable[Pod]) -> list[Pod]:
    """The pods a drain moves: not a DaemonSet's, not mirror pods."""
    return [p for p in pods if not p.mirror and p.owner != "DaemonSet"]


def drain(api: Any, node: str, timeout: float, *, force: bool = False, poll: float = POLL) -> None:
    """Cordon ``node`` and evict its pods; DrainTimeout names what still blocks."""
    todo = evictable(pods_on(api, [node]))
    bare = [p.ref for p in todo if not p.owner and not p.finished]
    if bare and not force:
        raise UserError(
            f"The node {node} runs pods that no controller would recreate "
            f"({', '.join(bare)}); move them under a controller or delete them, or pass "
            "--force where the task offers it to let the drain delete them."
        )
    cordon(api, node)
    deadline = time.monotonic() + timeout
    evicted = [(p.ref, p.uid) for p in todo]
    while todo:
        asked = [(pod, _evict(api, pod)) for pod in todo]
        todo = [pod for pod, delay in asked if delay is not None]
        if not todo:
            break
        # The server may say when to ask again (Retry-After); never longer than 10 s.
        wait = max([poll] + [min(delay or 0.0, 10.0) for _, delay in asked])
        if time.monotonic() + wait > deadline:
            raise DrainTimeout(_blocked(api, node, timeout, todo))
        time.sleep(wait)
    _wait_gone(api, node, evicted, deadline, poll, timeout)


def _evict(api: Any, pod: Pod) -> float | None:
    """Ask for one eviction: None when the pod goes, else seconds to wait before asking again."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import NotFoundError, TooManyRequestsError

    eviction = resource(api, "v1", "Pod").subresources["eviction"]
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod.name, "namespace": pod.namespace},
    }
    try:
        with refusals():
            eviction.create(body=body, name=pod.name, namespace=pod.namespace)
    except NotFoundError:
        return None  # gone already: what a drain wants
    except TooManyRequestsError as error:
        return float((error.headers or {}).get("Retry-After") or 0)
    except ApiException as error:
        # 500 when two budgets select the pod: a drain cannot settle that itself.
        raise EvictionFailed(
            f"The API server refused to evict {pod.ref} ({reason(error)})."
        ) from None
    return None


def _wait_gone(
    api: Any,
    node: str,
    pending: list[tuple[str, str]],
    deadline: float,
    poll: float,
    timeout: float,
) -> None:
    """Like kubectl, a drain ends when the evicted pods are gone, not when asked to go."""
    while pending:
        left = {(p.ref, p.uid) for p in evictable(pods_on(api, [node]))}
        pending = [p for p in pending if p in left]
        if not pending:
            return
        if time.monotonic() + poll > deadline:
            names = ", ".join(ref for ref, _ in pending)
            raise DrainTimeout(
                f"The node {node} was not drained after {timeout:g} s: the pods {names} "
                "were evicted but have not terminated yet."
            )
        time.sleep(poll)


def _blocked(api: Any, node: str, timeout: float, pods: list[Pod]) -> str:
    budgets = _budgets(api, pods)
    named = "; ".join(budgets) if budgets else "no budget found (a rate limit of the API server?)"
    return (
        f"The node {node} was not drained after {timeout:g} s: evicting "
        f"{', '.join(p.ref for p in pods)} is still refused by PodDisruptionBudgets ({named}); "
        "scale those workloads up or relax the budgets, then run again."
    )


# -- budgets -------------------------------------------------------------------------


def blocking_budgets(api: Any, nodes: list[str]) -> list[str]:
    """One line per PodDisruptionBudget that allows no disruption and covers pods on ``nodes``."""
    return _budgets(api, evictable(pods_on(api, nodes)), only_blocking=True)


def _budgets(api: Any, pods: list[Pod], only_blocking: bool = False) -> list[str]:
    if not pods:
        return []
    with refusals():
        listed = api.get(resource(api, "policy/v1", "PodDisruptionBudget")).to_dict()
    lines = []
    for budget in listed.get("items") or []:
        meta, status = budget.get("metadata") or {}, budget.get("status") or {}
        allowed = int(status.get("disruptionsAllowed") or 0)
        if only_blocking and allowed > 0:
            continue
        selector = (budget.get("spec") or {}).get("selector")
        covered = [
            p.ref
            for p in pods
            if p.namespace == meta.get("namespace") and selects(selector, p.labels)
        ]
        if covered:
            lines.append(
                f"{meta.get('namespace')}/{meta.get('name')}: disruptionsAllowed {allowed}, "
                f"covers {', '.join(covered)}"
            )
    return lines


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector's verdict; in policy/v1 an empty selector selects every pod,
    a missing one none."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression(e, labels) for e in selector.get("matchExpressions") or [])


_OPERATORS: dict[str, Callable[[str | None, list[str]], bool]] = {
    "In": lambda value, values: value is not None and value in values,
    "NotIn": lambda value, values: value is None or value not in values,
    "Exists": lambda value, _: value is not None,
    "DoesNotExist": lambda value, _: value is None,
}


def _expression(expression: dict[str, Any], labels: dict[str, str]) -> bool:
    check = _OPERATORS.get(str(expression.get("operator")))
    if check is None:
        return False
    return check(labels.get(str(expression.get("key"))), list(expression.get("values") or []))


# -- readiness -----------------------------------------------------------------------


def ready(node: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether a Node object reports Ready, and why not in the kubelet's words."""
    if node is None:
        return False, "it has not registered with the API server"
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            if condition.get("status") == "True":
                return True, ""
            said = condition.get("message") or condition.get("reason") or "no reason given"
            return False, f"Ready is {condition.get('status')}: {said}"
    return False, "it reports no Ready condition yet"


def wait_ready(api: Any, node: str, timeout: float, *, poll: float = POLL) -> None:
    """Poll until ``node`` is Ready; NodeNotReady names it and the kubelet's reason."""
    deadline = time.monotonic() + timeout
    while True:
        ok, why = ready(node_object(api, node))
        if ok:
            return
        if time.monotonic() + poll > deadline:
            raise NodeNotReady(f"The node {node} is not Ready after {timeout:g} s ({why}).")
        time.sleep(poll)
