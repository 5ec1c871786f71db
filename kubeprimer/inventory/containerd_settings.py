"""roles/containerd's source and release settings, checked before any host is touched.

The role checks them too, but only when its play reaches it, after roles/node_prep has
changed the hosts; refused here, a mistyped source or release ends the task with status
2 and the hosts named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from kubeprimer.inventory.model import Inventory

SOURCES = ("tarball", "distro")
_RELEASE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+\Z")
_MIRROR = re.compile(r"^(https?|file)://\S+\Z")
# Setting -> (accepted when, what to write instead).
_CHECKS: dict[str, tuple[re.Pattern[str] | tuple[str, ...], str]] = {
    "containerd_source": (SOURCES, f"set it to {' or '.join(SOURCES)}"),
    "containerd_version": (_RELEASE, "write a containerd release such as 2.3.5, without v"),
    "containerd_runc_version": (_RELEASE, "write a runc release such as 1.4.3, without v"),
    "containerd_mirror_url": (_MIRROR, "write an http(s):// or file:// URL, or leave it empty"),
}


def _accepted(value: Any, rule: re.Pattern[str] | tuple[str, ...]) -> bool:
    if isinstance(value, str) and ("{{" in value or value == ""):
        return True  # Ansible's to resolve; empty means the default
    if isinstance(rule, tuple):
        return value in rule
    return isinstance(value, str) and rule.match(value) is not None


def containerd(inv: Inventory) -> Iterator[str]:
    bad: dict[tuple[str, str], list[str]] = {}
    for host in sorted(inv.hosts.values(), key=lambda h: h.name):
        for setting, (rule, _) in _CHECKS.items():
            if setting in host.vars and not _accepted(host.vars[setting], rule):
                bad.setdefault((setting, repr(host.vars[setting])), []).append(host.name)
    for (setting, shown), hosts in bad.items():
        yield f"{setting} {shown} on {', '.join(hosts)} is not usable; {_CHECKS[setting][1]}."
