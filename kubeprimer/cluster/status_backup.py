"""cluster.status: the age of the last etcd backup and restore drill, from the backup
agent's records on the etcd members (its node-exporter metric and its last-drill
record, the ones etcd.list and the alerts read), judged against the backup schedule."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubeprimer import yamlfile
from kubeprimer.inventory import Inventory
from kubeprimer.paths import ROLES

# systemd's calendar shorthands (systemd.time(7)) and their period in seconds.
SHORTHANDS = {
    "minutely": 60,
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 31 * 86400,
    "quarterly": 92 * 86400,
    "semiannually": 183 * 86400,
    "yearly": 366 * 86400,
    "annually": 366 * 86400,
}
# A timer run may wait for its turn (members are staggered) and for restic's locks.
GRACE_SECONDS = 1800
_ELAPSE = re.compile(r"(?:Next elapse|Iter\. #2):\s+\w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


def period(calendar: str) -> int | None:
    """Seconds between two runs of an OnCalendar expression, None when unknown or off."""
    if not calendar:
        return None
    if calendar in SHORTHANDS:
        return SHORTHANDS[calendar]
    try:
        shown = subprocess.run(
            ["systemd-analyze", "calendar", "--iterations=2", calendar],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    times = [datetime.fromisoformat(t) for t in _ELAPSE.findall(shown)]
    return int((times[1] - times[0]).total_seconds()) if len(times) == 2 else None


def schedule(inv: Inventory) -> tuple[str, bool]:
    """The backup timer's OnCalendar expression and whether the timer is on."""
    defaults = yamlfile.read(ROLES / "etcd_backup" / "defaults" / "main.yml") or {}

    def value(name: str) -> Any:
        return inv.settings.get(name, defaults.get(name))

    return str(value("etcd_backup_on_calendar") or ""), bool(value("etcd_backup_schedule_enabled"))


@dataclass(frozen=True)
class Backups:
    """What the members' records say; times are Unix seconds, None when never."""

    configured: bool
    last_backup: float | None = None
    last_attempt_failed: bool = False
    drill_at: float | None = None
    drill_ok: bool | None = None
    drill_error: str = ""
    # The schedule's period plus grace, None when no schedule runs (or it is unknown).
    allowed_age: int | None = None
    calendar: str = ""

    def backup_age(self, now: float) -> float | None:
        return None if self.last_backup is None else max(0.0, now - self.last_backup)

    def drill_age(self, now: float) -> float | None:
        return None if self.drill_at is None else max(0.0, now - self.drill_at)

    def problems(self, now: float) -> list[str]:
        """Sentences for what is wrong: a stale or missing backup, a failed drill."""
        if not self.configured:
            return []
        found = []
        age = self.backup_age(now)
        if self.allowed_age is not None and (age is None or age > self.allowed_age):
            when = "no backup was ever stored" if age is None else f"the last is {ago(age)} old"
            found.append(
                f"etcd backups run {self.calendar} but {when}: run invoke etcd.backup and "
                "read the agent's log (journalctl -u kubeprimer-etcd-backup) on a member."
            )
        if self.drill_ok is False:
            found.append(f"The last restore drill failed: {self.drill_error or 'no detail'}.")
        return found

    def data(self, now: float) -> dict[str, Any]:
        return {
            "configured": self.configured,
            "last_backup": self.last_backup,
            "backup_age_seconds": _round(self.backup_age(now)),
            "last_attempt_failed": self.last_attempt_failed,
            "allowed_age_seconds": self.allowed_age,
            "schedule": self.calendar or None,
            "drill": {
                "at": self.drill_at,
                "age_seconds": _round(self.drill_age(now)),
                "ok": self.drill_ok,
                "error": self.drill_error or None,
            },
        }


def _round(value: float | None) -> int | None:
    return None if value is None else int(value)


def ago(seconds: float) -> str:
    """A short age: 42s, 17m, 5h, 3d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def judge(inv: Inventory, records: dict[str, dict[str, Any]]) -> Backups:
    """One view from every member's records: the newest backup and drill any member saw."""
    configured = [r for r in records.values() if r.get("configured")]
    if not configured:
        return Backups(False)
    calendar, enabled = schedule(inv)
    metrics = [r.get("metrics") or {} for r in configured]
    successes = [
        m["last_success_timestamp_seconds"]
        for m in metrics
        if m.get("last_success_timestamp_seconds")
    ]
    newest_attempt = max(
        (m for m in metrics if m.get("last_attempt_timestamp_seconds")),
        key=lambda m: m["last_attempt_timestamp_seconds"],
        default={},
    )
    drills = [
        r["drill"] for r in configured if isinstance(r.get("drill"), dict) and r["drill"].get("at")
    ]
    drill = max(drills, key=lambda d: float(d["at"]), default=None)
    allowed = period(calendar) if enabled else None
    return Backups(
        True,
        last_backup=max(successes) if successes else None,
        last_attempt_failed=newest_attempt.get("last_success") == 0,
        drill_at=float(drill["at"]) if drill else None,
        drill_ok=bool(drill["ok"]) if drill else None,
        drill_error=str(drill.get("error") or "") if drill else "",
        allowed_age=allowed + GRACE_SECONDS if allowed else None,
        calendar=calendar if enabled else "",
    )
