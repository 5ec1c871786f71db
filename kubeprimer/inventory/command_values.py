"""Inventory values that end up on a host's command line.

The roles quote them too; refusing them here ends the task with status 2 before any
host is touched, with the setting and the hosts named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from kubeprimer.inventory.model import Inventory

_MODULE = re.compile(r"^[a-zA-Z0-9_-]+$")
KERNEL_MODULES = "node_prep_kernel_modules"


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def kernel_modules(inv: Inventory) -> Iterator[str]:
    """Each host's node_prep_kernel_modules: a list of plain module names."""
    bad: dict[str, list[str]] = {}
    for host in sorted(inv.hosts.values(), key=lambda h: h.name):
        value = host.vars.get(KERNEL_MODULES)
        if value is None or _templated(value):
            continue
        if not isinstance(value, list):
            yield (
                f"{KERNEL_MODULES} of {host.name} is not a list; give a list of kernel module "
                "names, such as [overlay, br_netfilter]."
            )
            continue
        for name in value:
            if not _templated(name) and not _MODULE.match(str(name)):
                bad.setdefault(str(name), []).append(host.name)
    for name, hosts in bad.items():
        yield (
            f"{KERNEL_MODULES} lists {name!r} on {', '.join(hosts)}; give kernel module names "
            "made of letters, digits, _ and - only, such as br_netfilter."
        )
