"""Installed addons against their pins: which ones ``addons.install`` would change.

An install records the addon's version (addon.yml's ``version``, the pin of this
checkout) in its record ConfigMap (kubeprimer/addons/record.py). An addon whose recorded
version differs from the version its folder pins now has an update pending: ``addons.status``
flags it, and the ``cluster.upgrade`` plan lists it for ``invoke addons.install``.
An installed addon that this checkout no longer carries has no pin, so nothing to update to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeprimer.addons import catalog, record
from kubeprimer.paths import ADDONS

if TYPE_CHECKING:
    from kubeprimer.inventory.model import Inventory


@dataclass(frozen=True)
class Update:
    """An installed addon whose version is not the one pinned."""

    name: str
    installed: str
    pinned: str


def pins(root: Path = ADDONS) -> dict[str, str]:
    """The version each addon and app folder pins, by name."""
    return {addon.name: addon.version for addon in catalog.all_addons(root, kind=None)}


def differs(installed: str, pinned: str | None) -> bool:
    """Whether installing the addon again would change its version."""
    return pinned is not None and installed != pinned


def compare(installed: Mapping[str, str], pinned: Mapping[str, str]) -> list[Update]:
    """The installed addons (name to recorded version) whose pin differs, by name."""
    return [
        Update(name, version, pinned[name])
        for name, version in sorted(installed.items())
        if differs(version, pinned.get(name))
    ]


def pending(
    inv: Inventory | None = None,
    *,
    kubeconfig: Path | None = None,
    api: Any = None,
    root: Path = ADDONS,
) -> list[Update]:
    """Installed addons whose version differs from their pin, read from the cluster:
    through ``api`` (a client of kubeprimer.addons.kube.connect), else ``kubeconfig``,
    else the admin kubeconfig cluster.up fetched beside ``inv``."""
    from kubeprimer.addons.kube import connect, refusals
    from kubeprimer.cluster.kubeconfig import admin_kubeconfig

    wanted = pins(root)
    with refusals():
        if api is None:
            path = kubeconfig or (admin_kubeconfig(inv) if inv is not None else None)
            api = connect(path)
        installed = {name: rec.version for name, rec in record.read_all(api).items()}
    return compare(installed, wanted)
