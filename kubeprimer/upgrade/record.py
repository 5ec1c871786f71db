"""Progress of a cluster.upgrade, per step and per node, so that a run stopped half-way
(killed, a failed step, a node that never came back Ready) continues where it stopped
and never drains a finished node again.

One file per inventory under ``<runs_dir>/upgrade/``, beside the other run records,
mode 0600 in a 0700 folder. It is keyed by the inventory and the target versions: an
unfinished record whose targets differ from this run's is replaced (the caller says so),
and a finished upgrade closes its record, so the next upgrade starts from nothing.
Every write goes to a temporary file that replaces the record in one rename, so a run
killed at any moment leaves the record as it was before or after a step, never torn.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FOLDER = "upgrade"


def location(runs_dir: Path, inventory: Path) -> Path:
    """The record of upgrades of ``inventory``: named for its folder, keyed by its path."""
    resolved = inventory.expanduser().resolve()
    key = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
    return runs_dir / FOLDER / f"{resolved.parent.name or 'inventory'}-{key}.json"


@dataclass
class Record:
    """The steps finished towards ``targets``; ``finished`` once the whole upgrade is."""

    path: Path
    inventory: str
    targets: dict[str, Any]
    done: list[str] = field(default_factory=list)
    finished: bool = False
    started: str = ""
    # Units begun and not finished: their nodes may be cordoned or not Ready yet, which
    # the next run expects instead of calling the cluster unhealthy.
    begun: list[str] = field(default_factory=list)

    def is_done(self, unit: str) -> bool:
        return unit in self.done

    def begin(self, units: list[str]) -> None:
        """``units`` are about to change their hosts."""
        self.begun = [u for u in dict.fromkeys([*self.begun, *units]) if u not in self.done]
        self._write()

    def mark(self, unit: str) -> None:
        """``unit`` finished: kept on disk before the run goes on to the next one."""
        if unit not in self.done:
            self.done.append(unit)
        self.begun = [u for u in self.begun if u != unit]
        self._write()

    def close(self) -> None:
        """The upgrade is complete: the next one starts from an empty record."""
        self.finished = True
        self._write()

    def _data(self) -> dict[str, Any]:
        return {
            "inventory": self.inventory,
            "targets": self.targets,
            "started": self.started,
            "done": self.done,
            "begun": self.begun,
            "finished": self.finished,
        }

    def _write(self) -> None:
        write_private_json(self.path, self._data())


def write_private_json(path: Path, data: Mapping[str, Any]) -> None:
    """Replace ``path`` with ``data`` in one rename: mode 0600 in a 0700 folder, synced,
    so a run killed at any moment leaves the file as it was before or after, never torn."""
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    temporary = folder / f".{path.name}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump(data, stream, indent=2)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)
    # The rename itself reaches the disk only with the folder.
    folder_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_fd)
    finally:
        os.close(folder_fd)


def read_json(path: Path) -> dict[str, Any] | None:
    """The mapping kept at ``path``; None when there is none or it cannot be read."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        # A record nobody can read is no progress: the run starts over, which is safe
        # (every step checks the host before it changes it).
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Opened:
    """The record for this run, and a sentence when an unfinished one was set aside."""

    record: Record
    replaced: str | None = None


def load(runs_dir: Path, inventory: Path, targets: Mapping[str, Any]) -> Opened:
    """The record to continue for ``targets``, read only (nothing is written until a step
    finishes): the unfinished one with the same targets, else an empty one."""
    path = location(runs_dir, inventory)
    wanted = json.loads(json.dumps(dict(targets)))  # as it reads back from the file
    fresh = Record(
        path,
        str(inventory.expanduser().resolve()),
        wanted,
        started=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    data = read_json(path)
    if data is None or data.get("finished"):
        return Opened(fresh)
    done = [str(unit) for unit in data.get("done") or []]
    if data.get("targets") != wanted:
        if not done:
            return Opened(fresh)
        return Opened(
            fresh,
            f"The unfinished upgrade recorded in {path} aimed at {_versions(data.get('targets'))}; "
            f"the inventory now asks for {_versions(wanted)}, so a new record starts and every "
            "step is checked again.",
        )
    return Opened(
        Record(
            path,
            fresh.inventory,
            wanted,
            done=done,
            started=str(data.get("started") or fresh.started),
            begun=[str(unit) for unit in data.get("begun") or []],
        )
    )


def _versions(targets: Any) -> str:
    if not isinstance(targets, dict) or not targets:
        return "other versions"
    return ", ".join(f"{name} {value}" for name, value in sorted(targets.items()) if value)
