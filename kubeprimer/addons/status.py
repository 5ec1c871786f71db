"""What is installed on a cluster, and whether its workloads are rolled out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeprimer.addons import record, rollout


@dataclass(frozen=True)
class AddonStatus:
    addon: str
    version: str
    objects: int
    workloads_ready: int
    workloads: int
    missing: tuple[str, ...]


def status(client: Any) -> list[AddonStatus]:
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
            AddonStatus(name, rec.version, len(rec.refs), ready, len(watched), tuple(missing))
        )
    return out
