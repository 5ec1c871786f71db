"""restic's repository locks: which are provably stale, and what to tell a person.

restic refreshes the lock of a live run every 5 minutes, and treats a lock as stale when
it is older than 30 minutes, or when it was made on this host by a process that is gone;
``restic unlock`` (without --remove-all) removes exactly those. A lock made recently on
another host cannot be judged from here: only that host, or time, can tell.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from typing import Any

# restic's own bound (staleTimeout): a live run's lock is never this old.
STALE_AFTER_SECONDS = 30 * 60


@dataclass(frozen=True)
class Lock:
    id: str
    time: float
    exclusive: bool
    hostname: str
    pid: int

    @classmethod
    def from_json(cls, lock_id: str, raw: dict[str, Any], parse_time: Any) -> Lock:
        return cls(
            id=lock_id,
            time=float(parse_time(str(raw["time"]))),
            exclusive=bool(raw.get("exclusive")),
            hostname=str(raw.get("hostname", "")),
            pid=int(raw.get("pid", 0)),
        )

    def stale(self, now: float | None = None, host: str | None = None) -> bool:
        """True only when the run that made it is certainly gone."""
        if (now if now is not None else time.time()) - self.time > STALE_AFTER_SECONDS:
            return True
        if self.hostname != (host if host is not None else socket.gethostname()):
            return False
        return not _process_alive(self.pid)

    def describe(self) -> str:
        kind = "an exclusive" if self.exclusive else "a"
        since = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(self.time))
        return f"{kind} lock of a restic run on {self.hostname} (PID {self.pid}, since {since})"

    def advice(self) -> str:
        """What to do about a lock that is not provably stale; every command works as written."""
        stale_at = time.strftime("%H:%M:%S %Z", time.localtime(self.time + STALE_AFTER_SECONDS))
        return (
            f"if that run is still going, wait for it; if it crashed, its lock is stale from "
            f"{stale_at} on and the next run removes it, or remove it now by running "
            f"'kubeprimer-etcd-backup unlock' as root on {self.hostname}"
        )


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
