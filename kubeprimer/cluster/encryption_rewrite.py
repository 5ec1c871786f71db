"""Rewrite every object kube-apiserver encrypts at rest (Secrets, and whatever else the
inventory lists in kubeadm_encryption_resources), so that each is stored again under the
key now first in the encryption configuration: what
``kubectl get secrets -A -o json | kubectl replace -f -`` does, one object at a time.

A replace that changes nothing still reaches etcd when the object was read with a key
that is not the first one (the storage layer calls such a read stale), which is what
moves it to the new key. A replace that meets another client's write (409 Conflict)
reads the object again and retries; an object deleted meanwhile needs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory

PAGE = 250
CONFLICT_RETRIES = 5


class Busy(Exception):
    """An object changed by other clients at every try: the run stops, and the next
    run rewrites everything again (exit 1, not a user mistake)."""


@dataclass(frozen=True)
class Target:
    """A resource kube-apiserver encrypts, as kubeadm_encryption_resources names it."""

    plural: str
    group: str

    @property
    def label(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass
class Rewritten:
    objects: int = 0
    conflicts: int = 0
    gone: int = 0


def targets(inv: Inventory) -> list[Target]:
    """The resources to rewrite; a wildcard is refused before anything is changed."""
    named = inv.settings.get("kubeadm_encryption_resources") or ["secrets"]
    if not isinstance(named, list) or not all(isinstance(n, str) and n for n in named):
        raise UserError(
            "kubeadm_encryption_resources must be a list of resource names such as secrets; "
            "fix it in the inventory."
        )
    wild = [n for n in named if "*" in n]
    if wild:
        raise UserError(
            f"kubeadm_encryption_resources names {', '.join(wild)}; cluster.rotate-encryption-key "
            "rewrites resources named one by one: list them as PLURAL or PLURAL.GROUP "
            "(e.g. configmaps, deployments.apps) in the inventory."
        )
    return [Target(*n.split(".", 1)) if "." in n else Target(n, "") for n in named]


def rewrite(
    client: Any, wanted: list[Target], progress: Callable[[str], None]
) -> dict[str, Rewritten]:
    """Replace every object of each target in every namespace; what was done per target."""
    from kubeprimer.addons.kube import refusals

    done: dict[str, Rewritten] = {}
    with refusals():
        for target, res in zip(wanted, resources(client, wanted), strict=True):
            count = done[target.label] = Rewritten()
            for item in _every(client, res):
                _replace(client, res, item, count)
            progress(
                f"Rewrote {count.objects} {target.label} under the new key"
                + (f" ({count.conflicts} again after another write)" if count.conflicts else "")
                + (f"; {count.gone} were deleted meanwhile" if count.gone else "")
                + "."
            )
    return done


def resources(client: Any, wanted: list[Target]) -> list[Any]:
    """The API resource of each target; one the cluster does not serve is refused."""
    from kubeprimer.addons.kube import refusals

    with refusals():
        return [_resource(client, target) for target in wanted]


def _resource(client: Any, target: Target) -> Any:
    found = list(client.resources.search(name=target.plural, group=target.group))
    # The preferred version when the group serves several; all are the same objects.
    found.sort(key=lambda r: not getattr(r, "preferred", False))
    if not found:
        raise UserError(
            f"The cluster does not serve {target.label} (kubeadm_encryption_resources); "
            "fix the name in the inventory."
        )
    return found[0]


def _every(client: Any, res: Any) -> Iterator[dict[str, Any]]:
    """Every object of ``res`` in every namespace, a page at a time."""
    token: str | None = None
    while True:
        listed = client.get(res, limit=PAGE, _continue=token).to_dict()
        yield from listed.get("items") or []
        token = (listed.get("metadata") or {}).get("continue")
        if not token:
            return


def _replace(client: Any, res: Any, item: dict[str, Any], count: Rewritten) -> None:
    from kubernetes.dynamic.exceptions import ConflictError, NotFoundError

    meta = item["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    for _ in range(CONFLICT_RETRIES):
        # A list's items carry no kind; the replace must.
        body = {**item, "apiVersion": res.group_version, "kind": res.kind}
        try:
            client.replace(res, body=body, name=name, namespace=namespace)
        except NotFoundError:
            count.gone += 1
            return
        except ConflictError:
            count.conflicts += 1
            try:
                item = client.get(res, name=name, namespace=namespace).to_dict()
            except NotFoundError:
                count.gone += 1
                return
            continue
        count.objects += 1
        return
    where = f"{namespace}/{name}" if namespace else name
    raise Busy(f"{res.kind} {where} changed {CONFLICT_RETRIES} times while it was rewritten")
