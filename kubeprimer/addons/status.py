"""What is installed on a cluster, whether its workloads are rolled out, and whether
its version is the one this checkout pins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeprimer.addons import record, rollout, updates


@dataclass(frozen=True)
class AddonStatus:
    addon: str
    version: str
    objects: int
    workloads_ready: int
    workloads: int
    missing: tuple[str, ...]
    # The version this checkout's addon folder pins; None when it no longer carries the addon.
    pinned: str | None = None

    @property
    def update(self) -> bool:
        """addons.install would bring the addon to another version."""
        return updates.differs(self.version, self.pinned)


def status(client: Any, pinned: Mapping[str, str] | None = None) -> list[AddonStatus]:
    """Every installed addon; ``pinned`` (name to version) defaults to addons/' pins."""
    pins = updates.pins() if pinned is None else pinned
    out = []
    for name, rec in sorted(record.read_all(client).items()):
        ready, missing = 0, []
        watched = rollout.watched(list(rec.refs))
        for ref in watched:
            now = rollout.live_state(client, ref)
            if now is None:
                missing.append(str(ref))
            elif now.done:
                ready += 1
        out.append(
            AddonStatus(
                name,
                rec.version,
                len(rec.refs),
                ready,
                len(watched),
                tuple(missing),
                pins.get(name),
            )
        )
    return out
