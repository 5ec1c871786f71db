"""Inventory values that end up on a host's command line or in a service's environment.

The roles check and quote them too; refusing them here ends the task with status 2
before any host is touched, with the setting and the hosts named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from kubeprimer.inventory.model import Inventory

_MODULE = re.compile(r"^[a-zA-Z0-9_-]+\Z")
# A host, domain (.example.org, *.example.org), address or CIDR; \Z: no trailing newline.
_NO_PROXY_ENTRY = re.compile(r"^[a-zA-Z0-9.*:/_\[\]-]+\Z")
KERNEL_MODULES = "node_prep_kernel_modules"
NO_PROXY = "proxy_no_proxy"


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _entries(inv: Inventory, setting: str, pattern: re.Pattern[str]) -> dict[str, list[str]]:
    """Entries of each host's list ``setting`` that do not match ``pattern``, with the hosts."""
    bad: dict[str, list[str]] = {}
    for host in sorted(inv.hosts.values(), key=lambda h: h.name):
        value = host.vars.get(setting)
        if not isinstance(value, list):
            continue
        for entry in value:
            if not _templated(entry) and not pattern.match(str(entry)):
                bad.setdefault(str(entry), []).append(host.name)
    return bad


def kernel_modules(inv: Inventory) -> Iterator[str]:
    """Each host's node_prep_kernel_modules: a list of plain module names."""
    for host in sorted(inv.hosts.values(), key=lambda h: h.name):
        value = host.vars.get(KERNEL_MODULES)
        if value is not None and not _templated(value) and not isinstance(value, list):
            yield (
                f"{KERNEL_MODULES} of {host.name} is not a list; give a list of kernel module "
                "names, such as [overlay, br_netfilter]."
            )
    for name, hosts in _entries(inv, KERNEL_MODULES, _MODULE).items():
        yield (
            f"{KERNEL_MODULES} lists {name!r} on {', '.join(hosts)}; give kernel module names "
            "made of letters, digits, _ and - only, such as br_netfilter."
        )


def no_proxy(inv: Inventory) -> Iterator[str]:
    """proxy_no_proxy entries become one line of the services' environment file."""
    for entry, hosts in _entries(inv, NO_PROXY, _NO_PROXY_ENTRY).items():
        yield (
            f"{NO_PROXY} lists {entry!r} on {', '.join(hosts)}; give host names, domains, "
            "addresses or CIDRs only, without spaces, quotes or commas."
        )
