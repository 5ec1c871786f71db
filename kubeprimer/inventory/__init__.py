"""Load an Ansible inventory and validate it before any host is touched."""

from __future__ import annotations

from pathlib import Path

from kubeprimer.errors import raise_if
from kubeprimer.inventory.model import Host, Inventory, load
from kubeprimer.inventory.rules import problems

__all__ = ["Host", "Inventory", "load", "load_valid", "problems"]


def load_valid(path: Path) -> Inventory:
    """The inventory at ``path``, or a UserError that lists every problem in it."""
    inv = load(path)
    raise_if(problems(inv))
    return inv
