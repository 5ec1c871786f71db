"""Load an Ansible inventory and validate it before any host is touched."""

from __future__ import annotations

from pathlib import Path

from kubeprimer.errors import raise_if
from kubeprimer.inventory.model import Host, Inventory, load
from kubeprimer.inventory.rules import problems
from kubeprimer.inventory.vaulted import locked_message, locked_paths

__all__ = ["Host", "Inventory", "load", "load_valid", "problems", "require_unlocked"]


def load_valid(path: Path) -> Inventory:
    """The inventory at ``path``, or a UserError that lists every problem in it."""
    inv = load(path)
    raise_if(problems(inv))
    return inv


def require_unlocked(inv: Inventory) -> None:
    """Refuse vaulted values no configured password opens, before hosts are reached:
    Ansible decrypts a value only when a task uses it, so the run would stop there,
    half-way, on the hosts that use it (a become password: at the first task)."""
    owners: dict[str, list[str]] = {}
    for host in sorted(inv.hosts.values(), key=lambda h: h.name):
        for path in locked_paths(host.vars):
            owners.setdefault(path, []).append(host.name)
    raise_if(locked_message(f"{path} of {_names(hosts)}") for path, hosts in owners.items())


def _names(hosts: list[str]) -> str:
    shown = ", ".join(hosts[:3])
    more = f" and {len(hosts) - 3} more" if len(hosts) > 3 else ""
    return f"host{'s' if len(hosts) > 1 else ''} {shown}{more}"
