"""The steps of a cluster.upgrade, in the order the run takes them.

Built from what the cluster runs now (``Current``), what the inventory asks for
(``Targets``) and what an earlier run already finished (the record's units):

1. external etcd, one member at a time, non-leaders first and the leader last
   (playbooks/etcd_upgrade.yml);
2. the first control plane: ``kubeadm upgrade apply``;
3. the other control planes, one at a time: ``kubeadm upgrade node``;
4. each control plane, drained: kubeadm, kubelet and kubectl binaries, containerd;
5. the CNI, to its pinned version;
6. the workers in batches of ``max_unavailable``, each drained the same way;
7. addon updates, listed for ``invoke addons.install`` (the run does not install them).

A unit (``apply``, ``node:w1``...) is the grain of the record: a unit the record holds
is shown as done and never run again; a node whose versions already match is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeprimer.output import Listing

# upgrade.yml's steps (kubeprimer_upgrade_step), and the etcd playbook's own one.
ETCD, APPLY, CONTROL_PLANE, NODE, CNI, ADDONS = (
    "etcd",
    "apply",
    "control-plane",
    "node",
    "cni",
    "addons",
)


@dataclass(frozen=True)
class Current:
    """What the cluster runs now; None where it is unknown or absent."""

    apiserver: str | None = None
    kubelet: Mapping[str, str | None] = field(default_factory=dict)
    containerd: Mapping[str, str | None] = field(default_factory=dict)
    cni: str | None = None
    etcd: Mapping[str, str | None] = field(default_factory=dict)
    etcd_leader: str | None = None

    @property
    def running(self) -> bool:
        """Whether any part of a cluster runs (an absent one reads as nothing)."""
        return bool(
            self.apiserver
            or any(self.kubelet.values())
            or any(self.etcd.values())
            or any(self.containerd.values())
        )


@dataclass(frozen=True)
class Targets:
    """The versions the inventory asks for; None where it asks for nothing to change."""

    kubernetes: str
    containerd: Mapping[str, str | None] = field(default_factory=dict)
    cni: str | None = None
    cni_name: str = ""
    etcd: str | None = None

    def key(self) -> dict[str, Any]:
        """What the record is keyed by: a change of any of these starts a new record."""
        containerd = sorted({v for v in self.containerd.values() if v})
        return {
            "kubernetes": self.kubernetes,
            "etcd": self.etcd,
            "cni": f"{self.cni_name} {self.cni}" if self.cni else None,
            "containerd": ", ".join(containerd) or None,
        }


@dataclass(frozen=True)
class Change:
    """One component on one host, from one version to another."""

    component: str
    host: str
    old: str | None
    new: str
    how: str


@dataclass(frozen=True)
class Step:
    """What the run does in one go: one playbook step on ``hosts``, or a listing only."""

    kind: str
    hosts: tuple[str, ...]
    changes: tuple[Change, ...]
    batch: int = 0
    done: frozenset[str] = frozenset()

    @property
    def units(self) -> tuple[str, ...]:
        """The record's names for this step: one per node for drained steps."""
        if self.kind in (NODE, CONTROL_PLANE):
            return tuple(f"{self.kind}:{h}" for h in self.hosts)
        return (self.kind,)

    @property
    def finished(self) -> bool:
        return set(self.units) <= self.done

    @property
    def runs(self) -> bool:
        """Addon updates are only listed: addons.install applies them."""
        return self.kind != ADDONS


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    running: bool
    # The Kubernetes release the plan goes to.
    target: str = ""

    @property
    def pending(self) -> list[Step]:
        return [s for s in self.steps if s.runs and not s.finished]

    @property
    def nothing_to_do(self) -> bool:
        return not self.pending

    def data(self) -> list[dict[str, Any]]:
        """The plan for scripts: one entry per change, in run order."""
        rows = []
        for order, step in enumerate(self.steps, 1):
            for change in step.changes:
                unit = f"{step.kind}:{change.host}" if step.kind in (NODE, CONTROL_PLANE) else ""
                rows.append(
                    {
                        "order": order,
                        "step": step.kind,
                        "batch": step.batch or None,
                        "component": change.component,
                        "host": change.host or None,
                        "from": change.old,
                        "to": change.new,
                        "action": change.how,
                        "status": _status(step, unit),
                    }
                )
        return rows

    def listing(self) -> Listing:
        table = Listing(
            ["#", "step", "component", "host", "from", "to", "action", "status"],
            title="cluster.upgrade plan, in run order",
            right=["#"],
        )
        for row in self.data():
            step = row["step"] + (f" (batch {row['batch']})" if row["batch"] else "")
            table.add(
                str(row["order"]),
                step,
                row["component"],
                row["host"] or "",
                row["from"] or "",
                row["to"],
                row["action"],
                row["status"],
            )
        return table


def _status(step: Step, unit: str) -> str:
    if not step.runs:
        return "run addons.install"
    if (unit and unit in step.done) or (not unit and step.finished):
        return "done"
    return "pending"


def _differs(old: str | None, new: str | None) -> bool:
    """A version to move: known on both sides and not the same release."""
    from kubeprimer.upgrade.rules import parse

    if not old or not new:
        return False
    have, want = parse(old), parse(new)
    if have is None or want is None:
        return old.lstrip("v") != new.lstrip("v")
    # A package's Debian revision (1.6.20~ds1-1+deb12u3) is the same release as 1.6.20.
    return have != want


def _node_changes(host: str, current: Current, targets: Targets) -> list[Change]:
    changes = []
    kubelet = current.kubelet.get(host)
    if _differs(kubelet, targets.kubernetes):
        changes.append(
            Change(
                "kubelet",
                host,
                kubelet,
                targets.kubernetes,
                "drain; kubeadm, kubelet, kubectl; Ready; uncordon",
            )
        )
    old, new = current.containerd.get(host), targets.containerd.get(host)
    if new and _differs(old, new):
        changes.append(Change("containerd", host, old, new, "inside the node's drain window"))
    return changes


def _etcd_order(current: Current) -> list[str]:
    """Members non-leaders first, the leader last (one election, at the very end)."""
    members = list(current.etcd)
    return sorted(members, key=lambda m: m == current.etcd_leader)


def build(
    control_planes: Sequence[str],
    workers: Sequence[str],
    current: Current,
    targets: Targets,
    done: Sequence[str] = (),
    addons: Sequence[tuple[str, str, str]] = (),
    max_unavailable: int = 1,
    begun: Sequence[str] = (),
) -> Plan:
    """The steps from ``current`` to ``targets``; ``done`` are the record's finished units,
    ``begun`` those an earlier run started and did not finish: they run again even where
    the versions already match (a node upgraded but still cordoned, not yet Ready)."""
    finished = frozenset(done)
    recorded = finished | frozenset(begun)
    steps: list[Step] = []

    def again(kind: str, host: str) -> list[Change]:
        unit = f"{kind}:{host}" if kind in (NODE, CONTROL_PLANE) else kind
        if unit not in recorded:
            return []
        how = "finished by an earlier run" if unit in finished else "begun by an earlier run"
        return [
            Change("kubelet" if kind == NODE else "kubernetes", host, None, targets.kubernetes, how)
        ]

    def add(kind: str, hosts: Sequence[str], changes: Sequence[Change], batch: int = 0) -> None:
        if changes:
            steps.append(Step(kind, tuple(hosts), tuple(changes), batch, finished))

    if targets.etcd:
        members = [m for m in _etcd_order(current) if current.etcd.get(m)]
        changes = [
            Change("etcd", m, current.etcd[m], targets.etcd, _etcd_how(m, current))
            for m in members
            if _differs(current.etcd[m], targets.etcd)
        ]
        add(ETCD, members, changes)

    apiserver = current.apiserver
    cps = list(control_planes)
    upgrade_control_plane = _differs(apiserver, targets.kubernetes) or bool(
        recorded & {APPLY, *(f"{CONTROL_PLANE}:{h}" for h in cps)}
    )
    if cps and upgrade_control_plane:
        first, others = cps[0], cps[1:]
        add(
            APPLY,
            [first],
            [Change("kubernetes", first, apiserver, targets.kubernetes, "kubeadm upgrade apply")],
        )
        for host in others:
            add(
                CONTROL_PLANE,
                [host],
                [Change("kubernetes", host, apiserver, targets.kubernetes, "kubeadm upgrade node")],
            )
    for host in cps:
        add(NODE, [host], _node_changes(host, current, targets) or again(NODE, host))

    if cps and targets.cni and (_differs(current.cni, targets.cni) or CNI in recorded):
        # Applied once, through the first control plane's admin kubeconfig.
        add(
            CNI,
            cps[:1],
            [
                Change(
                    "cni",
                    "",
                    current.cni,
                    f"{targets.cni_name} {targets.cni}".strip(),
                    "apply the CNI manifests",
                )
            ],
        )

    due = [
        (host, _node_changes(host, current, targets))
        for host in workers
        if host not in control_planes
    ]
    due = [(h, c or again(NODE, h)) for h, c in due]
    due = [(h, c) for h, c in due if c]
    # Nodes already done first: a batch never mixes finished nodes with new ones.
    finished_first = [d for d in due if f"{NODE}:{d[0]}" in finished] + [
        d for d in due if f"{NODE}:{d[0]}" not in finished
    ]
    size = max(1, max_unavailable)
    for number, start in enumerate(range(0, len(finished_first), size), 1):
        batch = finished_first[start : start + size]
        add(NODE, [h for h, _ in batch], [c for _, cs in batch for c in cs], batch=number)

    if addons:
        add(
            ADDONS,
            [],
            [
                Change(f"addon {name}", "", old, new, "run invoke addons.install")
                for name, old, new in addons
            ],
        )
    return Plan(tuple(steps), current.running, targets.kubernetes)


def _etcd_how(member: str, current: Current) -> str:
    if member == current.etcd_leader:
        return "replace and restart, last (the leader)"
    if current.etcd_leader is None:
        # The playbook asks the members which one leads when it gets there.
        return "replace and restart, one at a time; the leader goes last"
    return "replace and restart, wait until caught up"
