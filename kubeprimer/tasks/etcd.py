"""etcd.*: backups you can trust: take, schedule, list, drill and restore them."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke import Collection, Exit

from kubeprimer.output import JSON_HELP, console, emit_json, show
from kubeprimer.tasks._common import INVENTORY_HELP, load_inventory, play_on
from kubeprimer.tasks._task import task

# The playbooks that apply the etcd_backup role (where the agent is missing, for a backup).
_SETS_UP = ("etcd_backup.yml", "etcd_schedule.yml")


def _play(c: Any, playbook: str, inventory: str | None, **options: Any) -> None:
    """Run an etcd playbook once the inventory and its backup settings are checked."""
    from kubeprimer.etcd import settings

    inv = load_inventory(c, inventory)
    # The run's own options (extra variables) win over the inventory, so check them together.
    settings.check(inv, options.get("extravars"), sets_up=playbook in _SETS_UP)
    play_on(c, playbook, inv, **options)


def _inventory_option(inventory: str | None) -> str:
    return f" -i {inventory}" if inventory else ""


@contextmanager
def _report_file() -> Iterator[Path]:
    """A private file the playbook writes its JSON answer into (never secrets)."""
    with tempfile.TemporaryDirectory(prefix="kubeprimer-etcd-") as folder:
        yield Path(folder) / "report.json"


def _answer(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _refuse_bad_argument(path: Path) -> None:
    """When the hosts refused an argument (the agent's exit status 2, e.g. an unknown
    backup ID) before touching anything, end with status 2 and the agent's sentence."""
    from kubeprimer.errors import UserError

    answer = _answer(path)
    failed = answer.get("failed") if isinstance(answer, dict) else None
    if isinstance(failed, dict) and failed.get("code") == 2 and failed.get("error"):
        raise UserError(str(failed["error"]))


@task(help={"inventory": INVENTORY_HELP, "json": JSON_HELP})
def backup(c: Any, inventory: str | None = None, json: bool = False) -> None:
    """Take one etcd backup now and store it off the etcd hosts."""
    stored = take_backup(c, inventory, json)
    if stored:
        _print_stored(stored, json)


def take_backup(c: Any, inventory: str | None, json: bool = False) -> Any:
    """One backup now (etcd.backup, and cluster.upgrade before its first change): the
    stored backup's report, or None when the members stored none."""
    with _report_file() as report:
        try:
            _play(
                c,
                "etcd_backup.yml",
                inventory,
                extravars={"etcd_backup_report_file": str(report)},
                console=console(as_json=json),
            )
        except Exit as stopped:
            # A member that did not answer (exit 3) does not undo a backup another one stored.
            stored = _answer(report)
            if not stored or stopped.code != 3:
                raise
            _print_stored(stored, json)
            raise Exit(
                f"The backup {stored['short_id']} is stored, but not every etcd member answered: "
                f"{stopped.message}",
                code=stopped.code,
            ) from None
        return _answer(report)


def _print_stored(stored: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(stored)
        return
    console().print(
        f"Stored backup {stored['short_id']}: revision {stored['revision']}, "
        f"{stored['size']} bytes, from {stored['endpoint']} in {stored['duration_seconds']} s."
    )


@task(
    # Five --keep-* options would get puzzling one-letter forms.
    auto_shortflags=False,
    help={
        "every": "systemd calendar expression for the timer, e.g. hourly, daily, '*-*-* 00/6:00:00'",
        "keep_last": "keep the newest N backups",
        "keep_hourly": "keep one backup for each of the last N hours",
        "keep_daily": "keep one backup for each of the last N days",
        "keep_weekly": "keep one backup for each of the last N weeks",
        "keep_monthly": "keep one backup for each of the last N months",
        "check": "systemd calendar of the repository check on the first member, e.g. daily (off: none)",
        "check_subset": "part of the data each check reads: a percentage such as 10% or a group such as 1/7",
        "drill": "systemd calendar of the restore drill on the first member, e.g. weekly (off: none)",
        "disable": "remove the schedule (stop and disable the timers)",
        "inventory": INVENTORY_HELP,
    },
)
def schedule(
    c: Any,
    every: str | None = None,
    keep_last: str | None = None,
    keep_hourly: str | None = None,
    keep_daily: str | None = None,
    keep_weekly: str | None = None,
    keep_monthly: str | None = None,
    check: str | None = None,
    check_subset: str | None = None,
    drill: str | None = None,
    disable: bool = False,
    inventory: str | None = None,
) -> None:
    """Run backups on a timer on every etcd member, with retention, checks and drills."""
    from kubeprimer.etcd.options import schedule_vars

    keep = {
        "last": keep_last,
        "hourly": keep_hourly,
        "daily": keep_daily,
        "weekly": keep_weekly,
        "monthly": keep_monthly,
    }
    jobs = {"check": check, "drill": drill, "check_subset": check_subset}
    extravars = schedule_vars(every, keep, disable, jobs)
    _play(c, "etcd_schedule.yml", inventory, extravars=extravars)


@task(name="list", help={"inventory": INVENTORY_HELP, "json": JSON_HELP})
def list_(c: Any, inventory: str | None = None, json: bool = False) -> None:
    """List the etcd backups (time, size, revision, host) and the last check and drill."""
    from kubeprimer.etcd import trend
    from kubeprimer.etcd.report import backups_table, health_lines

    out = console(as_json=json)
    with _report_file() as report:
        _play(
            c,
            "etcd_list.yml",
            inventory,
            extravars={"etcd_backup_report_file": str(report)},
            console=out,
        )
        answer = _answer(report) or {}
    if json:
        emit_json(
            {
                "backups": answer.get("backups", []),
                "check": answer.get("check"),
                "drill": answer.get("drill"),
            }
        )
        return
    show(out, backups_table(answer.get("backups", [])))
    for line in trend.lines(answer.get("backups", [])):
        out.print(line, markup=False)
    for line in health_lines(answer, _inventory_option(inventory).replace(" -i ", " --inventory ")):
        out.print(line)


@task(
    help={
        "snapshot": "backup ID to drill (default: the newest)",
        "inventory": INVENTORY_HELP,
        "json": JSON_HELP,
    }
)
def verify(
    c: Any, snapshot: str | None = None, inventory: str | None = None, json: bool = False
) -> None:
    """Restore drill: restore a backup into a throwaway etcd and check it."""
    from kubeprimer.etcd.options import snapshot_id
    from kubeprimer.etcd.report import drill_summary

    result = drill(c, snapshot_id(snapshot, required=False), inventory, json)
    if result and json:
        emit_json(result)
    elif result:
        console().print(drill_summary(result))


def drill(c: Any, chosen: str | None, inventory: str | None, json: bool = False) -> Any:
    """Restore drill of backup ``chosen`` (None: the newest), for etcd.verify and
    cluster.upgrade's backup gate: the drill's report, or None when there is none."""
    with _report_file() as report:
        try:
            _play(
                c,
                "etcd_verify.yml",
                inventory,
                extravars={"etcd_backup_report_file": str(report), "etcd_verify_snapshot": chosen},
                console=console(as_json=json),
            )
        except Exit:
            _refuse_bad_argument(report)
            raise
        return _answer(report)


@task(
    help={
        "snapshot": "backup ID to restore (see etcd.list)",
        "yes": "do not ask: confirm the restore on the command line",
        "inventory": INVENTORY_HELP,
    }
)
def restore(
    c: Any, snapshot: str | None = None, yes: bool = False, inventory: str | None = None
) -> None:
    """Disaster recovery: restore every etcd member from one backup."""
    from kubeprimer.etcd import settings
    from kubeprimer.etcd.options import confirm_restore, snapshot_id

    chosen = snapshot_id(snapshot, required=True)
    inv = load_inventory(c, inventory)
    settings.check(inv)
    confirm_restore(chosen, yes)
    with _report_file() as report:
        try:
            play_on(
                c,
                "etcd_restore.yml",
                inv,
                extravars={
                    "etcd_restore_snapshot": chosen,
                    "etcd_restore_confirm": chosen,
                    "etcd_backup_report_file": str(report),
                },
            )
        except Exit as stopped:
            # The members refused the ID while staging, before anything was stopped.
            _refuse_bad_argument(report)
            # Every step can be run again: a second run finishes what the first one began.
            raise Exit(
                f"{stopped.message} Nothing is lost: old data stays on each member and the "
                f"backup stays staged. Fix the cause shown above, then run "
                f"'invoke etcd.restore --snapshot {chosen} --yes{_inventory_option(inventory)}' "
                "again to finish the restore.",
                code=stopped.code,
            ) from None
    console().print(
        f"etcd is restored from backup {chosen}. The old data is kept in "
        "<data dir>/.kubeprimer-before-restore-<time> on each member: remove it once the "
        "cluster is fine."
    )


ns = Collection("etcd", backup, schedule, list_, verify, restore)
