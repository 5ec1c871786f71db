"""Progress of a cluster.rotate-encryption-key, so that a run stopped at any step (killed,
an API server not ready again, a Secret the API refused) resumes at the step that did
not finish, with the same new key, and the old key is dropped only after every Secret
was rewritten under the new one.

One file per inventory under ``<runs_dir>/encryption/``, mode 0600 in a 0700 folder,
replaced in one rename (``kubeprimer.upgrade.record.write_private_json``). It holds the
new key's name and the steps done, never a key: the keys live only in the control
planes' encryption configuration.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kubeprimer.upgrade.record import location as upgrade_location
from kubeprimer.upgrade.record import read_json, write_private_json

FOLDER = "encryption"
# The documented rotation: every API server learns the new key (second, read only), then
# encrypts with it (first), every Secret is rewritten, and the old key goes.
STEPS = ("learn", "use", "rewrite", "drop")
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def steps_for(control_planes: int) -> tuple[str, ...]:
    """With one API server nobody else must learn the key before it encrypts with it."""
    return STEPS if control_planes > 1 else tuple(s for s in STEPS if s != "learn")


def location(runs_dir: Path, inventory: Path) -> Path:
    """The record of key rotations of ``inventory``, named as its upgrade record is."""
    return runs_dir / FOLDER / upgrade_location(runs_dir, inventory).name


def key_name(now: datetime) -> str:
    """A name no earlier key of the cluster has: when the rotation began and a random
    part, for two rotations begun within a second (no colons, which would clash with the
    ``k8s:enc:PROVIDER:v1:NAME:`` prefix of the values in etcd)."""
    return now.strftime("key-%Y%m%d%H%M%S-") + secrets.token_hex(3)


@dataclass
class Rotation:
    """One rotation to ``key``: its steps in order, those ``done``, and when it ``finished``."""

    path: Path
    inventory: str
    key: str
    steps: tuple[str, ...]
    started: str
    done: list[str] = field(default_factory=list)
    finished: str = ""

    @property
    def pending(self) -> list[str]:
        return [step for step in self.steps if step not in self.done]

    def mark(self, step: str) -> None:
        """``step`` finished on every control plane: kept before the next one begins."""
        if step not in self.done:
            self.done.append(step)
        self.save()

    def close(self, now: datetime) -> None:
        """The rotation is complete: the next one starts only when asked for."""
        self.finished = now.strftime(STAMP)
        self.save()

    def save(self) -> None:
        write_private_json(
            self.path,
            {
                "inventory": self.inventory,
                "key": self.key,
                "steps": list(self.steps),
                "started": self.started,
                "done": self.done,
                "finished": self.finished,
            },
        )


def load(runs_dir: Path, inventory: Path) -> Rotation | None:
    """The last rotation recorded for ``inventory`` (finished or not), or None."""
    path = location(runs_dir, inventory)
    data = read_json(path)
    if data is None or not _valid(data):
        return None
    return Rotation(
        path,
        str(data["inventory"]),
        str(data["key"]),
        tuple(str(s) for s in data["steps"]),
        str(data.get("started") or ""),
        done=[str(s) for s in data.get("done") or []],
        finished=str(data.get("finished") or ""),
    )


def fresh(runs_dir: Path, inventory: Path, control_planes: int, now: datetime) -> Rotation:
    """A new rotation, not on disk until its first step begins."""
    return Rotation(
        location(runs_dir, inventory),
        str(inventory.expanduser().resolve()),
        key_name(now),
        steps_for(control_planes),
        now.strftime(STAMP),
    )


def _valid(data: dict[str, Any]) -> bool:
    steps = data.get("steps")
    return (
        isinstance(data.get("key"), str)
        and bool(data["key"])
        and isinstance(steps, list)
        and set(steps) <= set(STEPS)
    )
