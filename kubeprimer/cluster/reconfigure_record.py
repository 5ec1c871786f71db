"""The work a cluster.reconfigure owes, kept beside the inventory until it is done.

Once the ConfigMaps are updated the cluster-wide difference is gone, so a run killed
after that point could no longer tell from the cluster alone which control planes and
kubelets still run the old settings. The record says so: it is written before the first
change (``artifacts/reconfigure-pending.json``, mode 0600) and removed after the last,
and the next run finishes what it lists. Its ``token`` is what each host keeps once its
part is done (roles/kubeadm/tasks/reconfigure-*.yml), so a host finished by a killed run
is not restarted again and a second run of the playbook changes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory


@dataclass
class Work:
    """What is owed: control-plane phases, control planes whose audit policy changed,
    and whether the kubelets take the kubelet-config ConfigMap again."""

    phases: list[str] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)
    kubelet: bool = False
    token: str = ""

    @property
    def empty(self) -> bool:
        return not (self.phases or self.audit or self.kubelet)

    @property
    def control_planes(self) -> bool:
        return bool(self.phases or self.audit)

    def joined(self, other: Work) -> Work:
        """This work and ``other``'s (a re-run finishing a killed one, plus anything new)."""
        order = ("apiserver", "controller-manager", "scheduler")
        return Work(
            phases=[p for p in order if p in self.phases or p in other.phases],
            audit=sorted(set(self.audit) | set(other.audit)),
            kubelet=self.kubelet or other.kubelet,
            token=self.token or other.token,
        )


def path(inv: Inventory) -> Path:
    return inv.path.parent / "artifacts" / "reconfigure-pending.json"


def load(inv: Inventory) -> Work | None:
    """The unfinished run's work, or None when the last run finished."""
    where = path(inv)
    if not where.is_file():
        return None
    try:
        data = json.loads(where.read_text())
        return Work(
            phases=[str(p) for p in data["phases"]],
            audit=[str(h) for h in data["audit"]],
            kubelet=bool(data["kubelet"]),
            token=str(data["token"]),
        )
    except (ValueError, KeyError, TypeError):
        raise UserError(
            f"{where} does not hold a cluster.reconfigure record; delete it and run "
            "cluster.reconfigure again."
        ) from None


def new_token(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


def save(inv: Inventory, work: Work) -> None:
    """Write the record in one rename, so a kill leaves the old one or the new one."""
    where = path(inv)
    where.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = where.with_name(f".{where.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump(asdict(work), stream, indent=2)
    os.replace(temporary, where)


def close(inv: Inventory) -> None:
    path(inv).unlink(missing_ok=True)
