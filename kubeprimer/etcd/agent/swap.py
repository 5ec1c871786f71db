"""Swapping a member's data for the restored data, inside its data directory.

The data directory is often a mount point (a disk of its own), and a mount point cannot
be renamed. So the swap moves entries instead: the old ones into a folder of old data
inside the directory, then the restored ones (built inside it too, so on the same file
system) into place. Every move is a rename on one file system. A journal records how
far it got, so the next run finishes a swap that stopped part-way; nothing is deleted.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

PREFIX = ".kubeprimer-"
FRESH = PREFIX + "restore-new"
KEPT = PREFIX + "before-restore-"
# The file system's own folder at the root of a mount point stays where fsck expects it.
STAYS = {"lost+found"}


class Swap:
    def __init__(self, data_dir: Path, journal: Path) -> None:
        self.data_dir = data_dir
        self.journal = journal

    @property
    def fresh(self) -> Path:
        """Where the restored data is built before it moves into place."""
        return self.data_dir / FRESH

    def fresh_ready(self) -> bool:
        return self.fresh.is_dir() and any(self.fresh.iterdir())

    def new_kept(self) -> str:
        return str(self.data_dir / f"{KEPT}{time.strftime('%Y%m%d%H%M%S')}")

    def load(self, snapshot: str) -> dict[str, Any]:
        """The journal of an earlier run for this backup; empty when there is none."""
        try:
            state: dict[str, Any] = json.loads(self.journal.read_text())
        except (OSError, ValueError):
            return {}
        return state if state.get("snapshot") == snapshot else {}

    def save(self, snapshot: str, token: str, state: str, kept: str) -> dict[str, Any]:
        record = {"snapshot": snapshot, "token": token, "state": state, "kept": kept}
        partial = self.journal.with_suffix(".part")
        with open(partial, "w") as out:
            out.write(json.dumps(record) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.journal)
        return record

    def run(self, kept: Path) -> None:
        """Old entries into ``kept``, restored ones into place; safe to run again."""
        kept.mkdir(mode=0o700, exist_ok=True)
        for entry in sorted(self.data_dir.iterdir()):
            if not entry.name.startswith(PREFIX) and entry.name not in STAYS:
                entry.rename(_free_name(kept / entry.name))
        for entry in sorted(self.fresh.iterdir()):
            entry.rename(self.data_dir / entry.name)
        self.fresh.rmdir()
        if not any(kept.iterdir()):
            kept.rmdir()
        fd = os.open(self.data_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _free_name(path: Path) -> Path:
    """A name beside ``path`` that is not taken: an earlier try may have kept one already."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate
