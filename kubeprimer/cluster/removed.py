"""The nodes cluster.remove-node took out of the cluster, recorded beside the inventory.

A removed host that is still listed in the inventory would otherwise be joined again by
the next cluster.up as if it were new. cluster.up refuses such a host unless it is named
on purpose with ``--limit``, which adds it back and forgets the record. The file,
``.removed-nodes.yml`` beside the inventory, holds no secret; a leading dot keeps
Ansible from reading it as an inventory when a folder is given with -i.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from kubeprimer import yamlfile
from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory

FILE_NAME = ".removed-nodes.yml"


def path(inv: Inventory) -> Path:
    return inv.path.parent / FILE_NAME


def read(inv: Inventory) -> dict[str, dict[str, Any]]:
    """Removed host name -> what was recorded (when, which roles it had)."""
    where = path(inv)
    if not where.is_file():
        return {}
    data = yamlfile.read(where) or {}
    if not isinstance(data, dict):
        raise UserError(f"{where} is not a mapping of removed nodes; delete the file or fix it.")
    return {str(k): dict(v or {}) for k, v in data.items()}


def _write(inv: Inventory, data: dict[str, dict[str, Any]]) -> None:
    where = path(inv)
    if not data:
        where.unlink(missing_ok=True)
        return
    text = (
        "# Nodes taken out with invoke cluster.remove-node. cluster.up refuses them while\n"
        "# they are in the inventory, unless named with --limit to add them back.\n"
    ) + yaml.safe_dump(data, sort_keys=True)
    partial = where.with_name(where.name + ".tmp")
    partial.write_text(text)
    os.replace(partial, where)


def record(inv: Inventory, host: str, roles: Iterable[str]) -> None:
    data = read(inv)
    data[host] = {
        "removed": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "roles": sorted(roles),
    }
    _write(inv, data)


def forget(inv: Inventory, hosts: Iterable[str]) -> None:
    data = read(inv)
    kept = {k: v for k, v in data.items() if k not in set(hosts)}
    if kept != data:
        _write(inv, kept)


def refusals(inv: Inventory, readding: Iterable[str] = ()) -> list[str]:
    """One sentence per removed host still in the inventory and not named to come back."""
    wanted = set(readding)
    return [
        f"{host} was removed with invoke cluster.remove-node on {entry.get('removed', '?')} but is "
        f"still in {inv.path}; delete it from the inventory, or add it back on purpose with "
        f"invoke cluster.up --limit {host}."
        for host, entry in sorted(read(inv).items())
        if host in inv.hosts and host not in wanted
    ]
