"""The backup gate of cluster.upgrade: before its first change, an etcd backup taken now
and proven by a restore drill, with the same code as ``etcd.backup`` and ``etcd.verify``.

Without a backup target the upgrade is refused (exit 2) unless ``--no-backup`` is
given; then it goes on with a warning. The check is made before anything else, so a
refusal touches nothing.
"""

from __future__ import annotations

from typing import Any

from invoke import Exit
from rich.console import Console

from kubeprimer.errors import UserError
from kubeprimer.inventory.model import Inventory

WARNING = (
    "[bold yellow]Warning:[/] --no-backup: no etcd backup is taken before this upgrade; "
    "if it goes wrong, the cluster's state can only come from a backup you made yourself."
)


def _unconfigured(inv: Inventory) -> bool:
    """No backup target: the default SFTP target without a host to store on."""
    members = inv.group("etcd") or inv.group("kube_control_plane")
    values = members[0].vars if members else inv.settings
    if values.get("etcd_backup_target", "sftp") == "s3":
        return False
    return not (values.get("etcd_backup_sftp_host") or inv.group("backup"))


def check(inv: Inventory, no_backup: bool) -> bool:
    """Whether the run takes a backup; refuses an unconfigured one without ``no_backup``
    and any bad etcd_backup_* value (exit 2, nothing touched)."""
    from kubeprimer.etcd import settings

    if no_backup:
        return False
    if _unconfigured(inv):
        raise UserError(
            "cluster.upgrade takes an etcd backup before its first change, but backups are "
            "not configured: add a host to the inventory group backup (or set "
            "etcd_backup_target: s3, see docs/etcd-backup.md), or run again with --no-backup "
            "to upgrade without one."
        )
    settings.check(inv, sets_up=True)
    return True


def proven(c: Any, inventory: str | None, out: Console, stopped: str) -> tuple[str, Any]:
    """A backup now, then a restore drill of that very backup (the etcd.backup and
    etcd.verify code paths): its short ID and the drill's result. ``stopped`` says what
    did not happen when either gives nothing."""
    from kubeprimer.tasks import etcd

    stored = etcd.take_backup(c, inventory)
    if not stored:
        raise Exit(
            f"The etcd backup playbook stored no backup, so {stopped}; "
            "run invoke etcd.backup to see why.",
            code=1,
        )
    backup = str(stored["short_id"])
    out.print(f"Backup {backup} stored; proving it with a restore drill.")
    drilled = etcd.drill(c, str(stored.get("id") or backup), inventory)
    if not drilled:
        raise Exit(
            f"The restore drill of backup {backup} gave no result, so {stopped}; "
            f"run invoke etcd.verify --snapshot {backup} to see why.",
            code=1,
        )
    return backup, drilled


def take(c: Any, inventory: str | None, out: Console) -> str:
    """The gate: a backup now, proven by a restore drill; its ID."""
    out.print("Backup gate: taking an etcd backup before the first change.")
    backup, drilled = proven(c, inventory, out, "the upgrade did not start")
    out.print(
        f"Backup gate: backup {backup} restores ({drilled.get('keys')} keys at revision "
        f"{drilled.get('revision')}); the upgrade can start."
    )
    return backup
