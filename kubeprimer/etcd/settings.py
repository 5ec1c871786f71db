"""The inventory's etcd_backup_* values, checked before any host is touched.

The SFTP address, user and folder go into the ssh command line restic runs, where a
crafted value would add options such as ProxyCommand; calendars go into systemd units,
counts and subsets into restic's options. A value the hosts would refuse half-way
through a run is refused here, with exit status 2. The role checks the same rules
again (roles/etcd_backup preflight), for runs without kubeprimer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from kubeprimer import yamlfile
from kubeprimer.errors import raise_if
from kubeprimer.etcd.agent.health import subset_ok
from kubeprimer.etcd.options import KEEP, MAX_COUNT, calendar_ok, whole_number
from kubeprimer.inventory.model import Inventory, port_number
from kubeprimer.paths import ROLES

# A DNS name or an IPv4 address: what restic's "sftp:user@host:/path" form can carry.
HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
FOLDER = re.compile(r"(/[A-Za-z0-9._-]+)+")
CLUSTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
S3_ENDPOINT = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?")
VERSION = re.compile(r"\d+\.\d+\.\d+")
# S3's bucket naming rules.
S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

# Patterns match the whole value (fullmatch): '$' would let a trailing newline through.
_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "etcd_backup_sftp_address": (HOSTNAME, "a host name or an IPv4 address"),
    "etcd_backup_sftp_user": (USER, "a plain user name (lower-case letters, digits, _ and -)"),
    "etcd_backup_sftp_base_dir": (FOLDER, "an absolute path of letters, digits, '.', '_' and '-'"),
    "etcd_backup_cluster_name": (CLUSTER_NAME, "a plain name (letters, digits, '.', '_', '-')"),
    # The textfile folder goes into the units' ReadWritePaths= line.
    "etcd_backup_textfile_dir": (FOLDER, "an absolute path of letters, digits, '.', '_' and '-'"),
    "etcd_backup_data_dir": (FOLDER, "an absolute path of letters, digits, '.', '_' and '-'"),
    # It names the tools' folder and the download URL.
    "etcd_backup_etcd_version": (VERSION, "an etcd release such as 3.6.5"),
}
_S3_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "etcd_backup_s3_endpoint": (S3_ENDPOINT, "an http or https URL such as https://s3.example.net"),
    "etcd_backup_s3_bucket": (
        S3_BUCKET,
        "an S3 bucket name (lower-case letters, digits, '.', '-')",
    ),
}
_CALENDARS = (
    "etcd_backup_on_calendar",
    "etcd_backup_check_on_calendar",
    "etcd_backup_drill_on_calendar",
)
_COUNTS = (
    *(f"etcd_backup_keep_{k}" for k in KEEP),
    "etcd_backup_lock_wait_seconds",
    "etcd_backup_stagger_seconds",
    "etcd_backup_fresh_seconds",
    "etcd_backup_prune_every_hours",
)
_TARGETS = ("sftp", "s3")


def _templated(value: Any) -> bool:
    # Jinja is resolved by Ansible on the host; the role's preflight checks the result.
    return isinstance(value, str) and "{{" in value


def _role_defaults() -> dict[str, Any]:
    return dict(yamlfile.read(ROLES / "etcd_backup" / "defaults" / "main.yml") or {})


def _patterns(values: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    rules = dict(_RULES)
    if values.get("etcd_backup_target", "sftp") == "s3":
        rules.update(_S3_RULES)
    for name, (pattern, shape) in rules.items():
        value = values.get(name)
        if _templated(value) or (value in (None, "") and name not in _S3_RULES):
            continue
        if not isinstance(value, str) or not pattern.fullmatch(value) or ".." in value.split("/"):
            yield name, repr(value), f"must be {shape}"


def _schedule(values: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    for name in _CALENDARS:
        value = values.get(name)
        # An empty check or drill calendar turns it off.
        if value is None or _templated(value) or (value == "" and name != _CALENDARS[0]):
            continue
        if not isinstance(value, str) or not calendar_ok(value):
            yield name, repr(value), "must be a systemd calendar expression such as daily"
    subset = values.get("etcd_backup_check_read_data_subset")
    if subset is not None and not _templated(subset) and not subset_ok(str(subset)):
        yield (
            "etcd_backup_check_read_data_subset",
            repr(subset),
            "must be a part of the data restic reads, a percentage such as 10% or a group such as 1/7",
        )
    for name in _COUNTS:
        value = values.get(name)
        if value is not None and not _templated(value) and whole_number(value) is None:
            yield name, repr(value), f"must be a whole number from 0 to {MAX_COUNT}"


def bad_values(values: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(setting, value, what it must be) for every unsafe value among ``values``."""
    target = values.get("etcd_backup_target")
    if target is not None and target not in _TARGETS:
        yield "etcd_backup_target", repr(target), "must be sftp or s3"
    yield from _patterns(values)
    yield from _schedule(values)
    for name in ("etcd_backup_sftp_port", "etcd_backup_etcd_client_port"):
        port = values.get(name)
        if port is not None and not _templated(port) and port_number(port) is None:
            yield name, repr(port), "must be a port number from 1 to 65535"
    keep = [whole_number(values.get(f"etcd_backup_keep_{k}", 0)) for k in KEEP]
    if all(count == 0 for count in keep):
        yield "etcd_backup_keep_*", "(all 0)", "must keep at least one backup: set one above 0"


def check(
    inv: Inventory, overrides: Mapping[str, Any] | None = None, *, sets_up: bool = False
) -> None:
    """Every unsafe etcd_backup_* value of the etcd members, each as one sentence.

    ``overrides`` are the task's options for this run (extra variables), which win
    over the inventory as they do in Ansible. ``sets_up``: the run applies the role,
    so the backup target must be usable too.
    """
    defaults = _role_defaults()
    members = inv.group("etcd") or inv.group("kube_control_plane")
    scopes = [(host.name, host.vars) for host in members] or [("group_vars/all", inv.settings)]
    where: dict[tuple[str, str, str], list[str]] = {}
    for name, values in scopes:
        merged = {**defaults, **values, **(overrides or {})}
        for problem in bad_values(merged):
            where.setdefault(problem, []).append(name)
    problems = [
        f"{name} {value} (for {', '.join(hosts)}) {shape}; fix it in the inventory."
        for (name, value, shape), hosts in where.items()
    ]
    first = {**defaults, **scopes[0][1], **(overrides or {})}
    if sets_up:
        problems += _backup_host(inv, first, [h.name for h in members])
    raise_if(problems)


def _backup_host(inv: Inventory, values: Mapping[str, Any], members: list[str]) -> Iterator[str]:
    """The SFTP target: a host of the inventory, and not an etcd member unless allowed."""
    if values.get("etcd_backup_target", "sftp") != "sftp":
        return
    chosen = values.get("etcd_backup_sftp_host") or ""
    if _templated(chosen):
        return
    backup = [h.name for h in inv.group("backup")]
    if not chosen and not backup:
        yield (
            "There is no backup host for the SFTP target; add one to the inventory group "
            "backup, set etcd_backup_sftp_host, or use etcd_backup_target: s3."
        )
        return
    name = str(chosen or backup[0])
    if name not in inv.hosts:
        yield f"etcd_backup_sftp_host {name!r} is not a host of the inventory; add it or fix the name."
    elif name in members and not values.get("etcd_backup_allow_on_member"):
        yield (
            f"The backup host {name} is an etcd member, so losing it loses etcd and its backups; "
            "choose another host, or set etcd_backup_allow_on_member: true."
        )
