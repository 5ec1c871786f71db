"""Whether the kubeconfig's user may write every object of an install, asked before the
first write: a token that can read but not write would otherwise stop an install half-way,
with the objects applied before the refusal left in the cluster."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubeprimer.addons.kube import resource
from kubeprimer.errors import UserError

# Server-side apply reads the object, then patches it, creating it when it is missing.
VERBS = ("get", "create", "patch")


@dataclass(frozen=True, order=True)
class Target:
    """What RBAC decides on: a resource of an API group, in a namespace or cluster-wide."""

    group: str
    resource: str
    namespace: str

    def __str__(self) -> str:
        name = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{name} in namespace {self.namespace}" if self.namespace else name


def _defined_here(objects: Iterable[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, bool]]:
    """(group, kind) -> (plural, namespaced) of the CRDs among ``objects``: their custom
    resources are not served yet on a first install, so discovery cannot name them."""
    found = {}
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            names = spec.get("names") or {}
            found[(spec.get("group", ""), names.get("kind", ""))] = (
                names.get("plural", ""),
                spec.get("scope") == "Namespaced",
            )
    return found


def targets(client: Any, objects: list[dict[str, Any]]) -> set[Target]:
    defined = _defined_here(objects)
    found = set()
    for obj in objects:
        api_version, kind = obj["apiVersion"], obj["kind"]
        group = api_version.rpartition("/")[0]
        if (group, kind) in defined:
            plural, namespaced = defined[(group, kind)]
        else:
            served = resource(client, api_version, kind)
            plural, namespaced = served.name, bool(served.namespaced)
        namespace = (obj.get("metadata") or {}).get("namespace", "") if namespaced else ""
        found.add(Target(group, plural, namespace))
    return found


def _allowed(client: Any, review: Any, target: Target, verb: str) -> bool:
    attributes = {
        "verb": verb,
        "group": target.group,
        "resource": target.resource,
        "namespace": target.namespace,
    }
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    answer = client.create(review, body=body)
    return bool(answer.status.allowed)


def refused(client: Any, objects: list[dict[str, Any]]) -> list[str]:
    """What the user may not do to ``objects``, e.g. "create/patch deployments.apps in
    namespace web"; empty when everything is allowed."""
    review = resource(client, "authorization.k8s.io/v1", "SelfSubjectAccessReview")
    missing = []
    for target in sorted(targets(client, objects)):
        verbs = [verb for verb in VERBS if not _allowed(client, review, target, verb)]
        if verbs:
            missing.append(f"{'/'.join(verbs)} {target}")
    return missing


def check(client: Any, objects: list[dict[str, Any]]) -> None:
    """End with one sentence, before anything is written, when a write would be refused."""
    missing = refused(client, objects)
    if missing:
        raise UserError(
            f"The kubeconfig's user may not {'; '.join(missing)}, so nothing was applied; "
            "pass a kubeconfig whose user may (an admin one) with --kubeconfig."
        )
