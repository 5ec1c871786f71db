"""Install an addon: server-side apply of its rendered objects, wait, prune, record.

Apply goes in two phases: everything but custom resources, then (once CRDs are
Established and the workloads, webhooks included, have rolled out) the custom
resources. Objects a previous install created but this one no longer renders are
deleted (a DaemonSet before anything is applied, as its replacement may need its host
ports). Applying what is already there changes nothing (the API server keeps the
resourceVersion), which is how a re-install reports "unchanged".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from kubeprimer.addons import record, rollout
from kubeprimer.addons.config import Resolved
from kubeprimer.addons.kube import Stopped, fetch, reason, resource
from kubeprimer.addons.order import CUSTOM, install_order, rank
from kubeprimer.addons.record import Ref
from kubeprimer.addons.remove import delete
from kubeprimer.addons.render import FIELD_MANAGER


@dataclass(frozen=True)
class Options:
    timeout: float = 600.0
    poll: float = 2.0


@dataclass(frozen=True)
class Result:
    actions: dict[Ref, str]

    def counts(self) -> Counter[str]:
        return Counter(self.actions.values())


def apply(client: Any, obj: dict[str, Any]) -> str:
    """Server-side apply one object as field manager kubeprimer: created, configured or unchanged."""
    ref = Ref.of(obj)
    before = fetch(client, ref.api_version, ref.kind, ref.name, ref.namespace)
    res = resource(client, ref.api_version, ref.kind)
    after = client.server_side_apply(
        res,
        body=obj,
        name=ref.name,
        namespace=ref.namespace or None,
        field_manager=FIELD_MANAGER,
        force_conflicts=True,
    )
    if before is None:
        return "created"
    same = before.metadata.resourceVersion == after.metadata.resourceVersion
    return "unchanged" if same else "configured"


def _apply_all(
    client: Any,
    resolved: Resolved,
    objects: list[dict[str, Any]],
    actions: dict[Ref, str],
    console: Console,
) -> None:
    """Apply each object in order, noting it in ``actions``; a refusal names what was applied."""
    from kubernetes.client.exceptions import ApiException

    for obj in objects:
        ref = Ref.of(obj)
        try:
            actions[ref] = apply(client, obj)
        except ApiException as error:
            addon = resolved.addon
            group = "app" if addon.kind == "app" else "addons"
            raise Stopped(
                f"The API server refused {ref} ({reason(error)}) after the permission check "
                f"passed; {len(actions)} objects of {addon.name} were applied (listed above): "
                f"fix the cause and install again, or take them away with "
                f"'invoke {group}.remove {addon.name}'."
            ) from None
        console.print(f"  {actions[ref]:<10} {ref}", highlight=False)


def _prune(
    client: Any, addon: str, stale: list[Ref], actions: dict[Ref, str], console: Console
) -> None:
    """Delete what an earlier install created and this one no longer renders."""
    for ref in reversed(install_order(stale)):
        actions[ref] = "pruned" if delete(client, ref, addon) == "deleted" else "gone"
        console.print(f"  {actions[ref]:<10} {ref}", highlight=False)


def install(
    client: Any,
    resolved: Resolved,
    objects: list[dict[str, Any]],
    options: Options,
    console: Console,
) -> Result:
    addon = resolved.addon
    by_ref = {Ref.of(o): o for o in objects}
    refs = install_order(list(by_ref))
    previous = record.read(client, addon.name)
    stale = [r for r in (previous.refs if previous else ()) if r not in by_ref]
    # Recorded first, so that a failed install can still be removed completely.
    record.write(client, addon.name, addon.version, install_order([*refs, *stale]))
    actions: dict[Ref, str] = {}
    # A DaemonSet no longer rendered (moved to another namespace, say) holds host ports
    # and host folders on every node that its replacement needs: it goes first.
    early = [r for r in stale if r.kind == "DaemonSet"]
    _prune(client, addon.name, early, actions, console)
    first = [r for r in refs if rank(r) < CUSTOM]
    _apply_all(client, resolved, [by_ref[r] for r in first], actions, console)
    rollout.wait(client, first, timeout=options.timeout, poll=options.poll, console=console)
    _apply_all(client, resolved, [by_ref[r] for r in refs[len(first) :]], actions, console)
    _prune(client, addon.name, [r for r in stale if r not in early], actions, console)
    record.write(client, addon.name, addon.version, refs)
    return Result(actions)
