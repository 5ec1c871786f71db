"""The inventory's etcd_backup_* values that end up in commands on the hosts.

They are checked before any host is touched: the SFTP address, user and folder go
into the ssh command line restic runs, where a crafted value would add options such
as ProxyCommand. The role checks the same rules again (roles/etcd_backup preflight).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from kubeprimer.errors import raise_if
from kubeprimer.inventory.model import Inventory

# A DNS name or an IPv4 address: what restic's "sftp:user@host:/path" form can carry.
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
FOLDER = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "etcd_backup_sftp_address": (HOSTNAME, "a host name or an IPv4 address"),
    "etcd_backup_sftp_user": (USER, "a plain user name (lower-case letters, digits, _ and -)"),
    "etcd_backup_sftp_base_dir": (FOLDER, "an absolute path of letters, digits, '.', '_' and '-'"),
    "etcd_backup_cluster_name": (CLUSTER_NAME, "a plain name (letters, digits, '.', '_', '-')"),
}


def _templated(value: Any) -> bool:
    # Jinja is resolved by Ansible on the host; the role's preflight checks the result.
    return isinstance(value, str) and "{{" in value


def bad_values(values: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(setting, value, what it must be) for every unsafe value among ``values``."""
    for name, (pattern, shape) in _RULES.items():
        value = values.get(name)
        if value in (None, "") or _templated(value):
            continue
        if not isinstance(value, str) or not pattern.match(value) or ".." in value.split("/"):
            yield name, repr(value), f"must be {shape}"
    port = values.get("etcd_backup_sftp_port")
    in_range = str(port).isdigit() and 0 < int(str(port)) < 65536
    if port is not None and not _templated(port) and not in_range:
        yield "etcd_backup_sftp_port", repr(port), "must be a port number from 1 to 65535"


def check(inv: Inventory) -> None:
    """Every unsafe etcd_backup_* value of the etcd members, each as one sentence."""
    members = inv.group("etcd") or inv.group("kube_control_plane")
    where: dict[tuple[str, str, str], list[str]] = {}
    for host in members:
        for problem in bad_values(host.vars):
            where.setdefault(problem, []).append(host.name)
    if not members:
        for problem in bad_values(inv.settings):
            where.setdefault(problem, []).append("group_vars/all")
    raise_if(
        f"{name} {value} (for {', '.join(hosts)}) {shape}; fix it in the inventory."
        for (name, value, shape), hosts in where.items()
    )
