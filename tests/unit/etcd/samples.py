"""Sample data the etcd report tests share."""

from __future__ import annotations

from typing import Any

# One backup as the agent lists it: the restic snapshot fields the backups table reads.
LISTED_BACKUP: dict[str, Any] = {
    "short_id": "1a2b3c4d",
    "time": "2026-01-02T03:04:05.5Z",
    "size": 4096,
    "revision": 42,
    "keys": 7,
    "host": "cp1",
    "etcd_version": "3.5.1",
}
