"""Delete what an install created, and nothing else."""

from __future__ import annotations

from typing import Any

from kubeprimer.addons import record
from kubeprimer.addons.kube import fetch, resource
from kubeprimer.addons.order import install_order
from kubeprimer.addons.record import Ref
from kubeprimer.addons.render import ADDON_LABEL
from kubeprimer.errors import UserError


def delete(client: Any, ref: Ref, addon: str) -> str:
    """Delete one recorded object if it is still the addon's: deleted, absent or kept."""
    live = fetch(client, ref.api_version, ref.kind, ref.name, ref.namespace)
    if live is None:
        return "absent"
    owner = (live.metadata.labels or {}).get(ADDON_LABEL)
    if owner != addon:
        # Someone relabelled it or replaced it with their own object: not ours to delete.
        return "kept"
    res = resource(client, ref.api_version, ref.kind)
    client.delete(
        res, name=ref.name, namespace=ref.namespace or None, propagation_policy="Background"
    )
    return "deleted"


def remove(client: Any, addon: str) -> list[tuple[Ref, str]]:
    """Every recorded object, dependants first (custom resources before their CRD,
    objects before their namespace), then the record itself."""
    found = record.read(client, addon)
    if found is None:
        where = f"{record.NAMESPACE}/{record.record_name(addon)}"
        raise UserError(f"{addon} is not installed here (there is no record {where}).")
    done = [(ref, delete(client, ref, addon)) for ref in reversed(install_order(list(found.refs)))]
    record.forget(client, addon)
    return done
