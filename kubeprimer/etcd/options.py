"""Checking the etcd.* task options before any host is touched."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from kubeprimer.errors import UserError, raise_if
from kubeprimer.etcd.agent.health import subset_ok

# A restic snapshot ID or a prefix of one long enough to be unambiguous in practice.
_SNAPSHOT_ID = re.compile(r"^[0-9a-f]{4,64}$")
# systemd OnCalendar: shorthands (hourly, daily, ...) or date/time expressions; this
# keeps out shell and junk, systemd-analyze (where the controller has it) the rest.
_CALENDAR = re.compile(r"[A-Za-z0-9 *,.:/~+-]{1,100}")
KEEP = ("last", "hourly", "daily", "weekly", "monthly")


def snapshot_id(value: str | None, *, required: bool) -> str:
    """A backup ID as `etcd.list` shows it; empty when optional and not given."""
    if not value:
        if required:
            raise UserError("Give the backup to restore with --snapshot ID (see invoke etcd.list).")
        return ""
    if not _SNAPSHOT_ID.match(value.lower()):
        raise UserError(
            f"--snapshot {value!r} is not a backup ID; use the ID column of invoke etcd.list."
        )
    return value.lower()


# restic and systemd read counts and seconds as 64-bit integers; nine digits is plenty.
MAX_COUNT = 999_999_999


def whole_number(value: object) -> int | None:
    """A count as YAML or an option gives it (7 or "7"); None unless 0 to MAX_COUNT."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_COUNT else None
    text = str(value).strip()
    # isdigit alone accepts digits int() refuses ("²"): ASCII keeps the two in step.
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_COUNT:
        return None
    return int(text)


@functools.lru_cache(maxsize=64)
def calendar_ok(value: str) -> bool:
    """A systemd calendar expression, as the hosts' systemd will read it."""
    if not _CALENDAR.fullmatch(value):
        return False
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        # The role's preflight checks the grammar on the hosts before anything changes.
        return True
    done = subprocess.run(
        [analyze, "calendar", value], capture_output=True, timeout=30, check=False
    )
    return done.returncode == 0


def schedule_vars(
    every: str | None,
    keep: Mapping[str, str | int | None],
    disable: bool,
    jobs: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """Extra variables for etcd_schedule.yml: only what was given overrides the inventory.

    ``jobs`` holds the --check and --drill calendars ("off" turns one off) and
    --check-subset, the part of the data each check reads.
    """
    jobs = {k: v for k, v in (jobs or {}).items() if v is not None}
    if disable:
        if every or jobs or any(v is not None for v in keep.values()):
            raise UserError(
                "--disable removes the schedule; give it without --every, --check, --drill "
                "or --keep-*."
            )
        return {"etcd_backup_schedule_enabled": False}
    problems = []
    calendars = {"every": every, "check": jobs.get("check"), "drill": jobs.get("drill")}
    for option, value in calendars.items():
        # 'off' turns a check or a drill off; backups stop with --disable.
        off_allowed = option != "every"
        if value is not None and not (value == "off" and off_allowed) and not calendar_ok(value):
            problems.append(
                f"--{option} {value!r} is not a systemd calendar expression; use e.g. hourly, "
                "daily, weekly or '*-*-* 00/6:00:00'"
                + (" (or off)." if off_allowed else " (to stop the backups, use --disable).")
            )
    subset = jobs.get("check_subset")
    if subset is not None and not subset_ok(subset):
        problems.append(
            f"--check-subset {subset!r} is not a part of the data restic can read; use a "
            "percentage such as 10% or a group such as 1/7."
        )
    given: dict[str, int] = {}
    for name, raw in keep.items():
        if name not in KEEP:
            problems.append(
                f"--keep-{name} is not a retention policy; use one of {', '.join(KEEP)}."
            )
        elif raw is not None:
            # Invoke hands over options without a typed default as text.
            number = whole_number(raw)
            if number is None:
                problems.append(
                    f"--keep-{name} must be a whole number from 0 to {MAX_COUNT}, not {raw!r}."
                )
            else:
                given[name] = number
    if given and len(given) == len(KEEP) and not any(given.values()):
        problems.append("Keep at least one backup: give one --keep-* above 0.")
    raise_if(problems)
    extravars: dict[str, Any] = {"etcd_backup_schedule_enabled": True}
    if every is not None:
        extravars["etcd_backup_on_calendar"] = every
    for job in ("check", "drill"):
        if calendars[job] is not None:
            extravars[f"etcd_backup_{job}_on_calendar"] = (
                "" if calendars[job] == "off" else calendars[job]
            )
    if subset is not None:
        extravars["etcd_backup_check_read_data_subset"] = subset
    extravars.update({f"etcd_backup_keep_{k}": v for k, v in given.items()})
    return extravars


def confirm_restore(snapshot: str, yes: bool, stdin: TextIO = sys.stdin) -> None:
    """A restore replaces the cluster's state: the user types the ID, or passes --yes."""
    if yes:
        return
    if not stdin.isatty():
        raise UserError(
            "etcd.restore replaces all cluster state and needs confirmation: run it in a "
            "terminal, or add --yes."
        )
    print(
        f"This stops every API server and etcd member and replaces all cluster state with "
        f"backup {snapshot}. Writes made since that backup are lost."
    )
    answer = input("Type the backup ID to go on: ").strip().lower()
    if answer != snapshot:
        raise UserError("The typed ID does not match, so nothing was done; run the task again.")
