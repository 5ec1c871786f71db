"""cluster.status: one view of the cluster, assembled from one SSH round
(``status_hosts``) and one API round (``status_api``), and what in it is unhealthy.

Every part that could not be read is shown as unknown with the reason, so the view
stays useful with the API server down or a host gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.text import Text

from kubeprimer.cluster import certs
from kubeprimer.cluster.status_api import COMPONENTS, Api
from kubeprimer.cluster.status_backup import Backups, ago
from kubeprimer.cluster.status_hosts import Hosts
from kubeprimer.etcd.report import human_size
from kubeprimer.inventory import Inventory
from kubeprimer.output import Cell, Listing

WARN_DAYS = certs.DEFAULT_WARN_DAYS
UNKNOWN = "unknown"


@dataclass
class Status:
    inv: Inventory
    api: Api
    hosts: Hosts
    backups: Backups
    certificates: list[certs.Row] = field(default_factory=list)

    @property
    def unreachable(self) -> list[str]:
        return [h for h in self.inv.hosts if h in self.hosts.gathered.errors]

    def nodes(self) -> list[str]:
        """Inventory nodes first (control planes, then workers), then any other the API lists."""
        names = [
            *self.inv.groups.get("kube_control_plane", []),
            *self.inv.groups.get("kube_node", []),
        ]
        names = list(dict.fromkeys(names))
        return names + sorted(set(self.api.nodes) - set(names))

    def control_planes(self) -> list[str]:
        return list(self.inv.groups.get("kube_control_plane", []))

    def components(self) -> tuple[str, ...]:
        return COMPONENTS if not self.inv.etcd_external else COMPONENTS[:-1]

    def pod_state(self, node: str, component: str) -> str:
        if self.api.error:
            return UNKNOWN
        pods = [p for p in self.api.pods if p.node == node and p.component == component]
        if not pods:
            return "missing"
        return "ready" if pods[0].ready else pods[0].phase.lower()

    def leader(self) -> str | None:
        leaders = {m.leader_id for m in self.hosts.members if m.leader_id}
        for member in self.hosts.members:
            if member.member_id and member.member_id in leaders:
                return member.host
        return None

    def nearest_certificate(self) -> certs.Row | None:
        dated = [r for r in self.certificates if r.expires is not None]
        return min(dated, key=lambda r: r.expires or datetime.max, default=None)


def problems(status: Status, now: datetime) -> list[str]:
    """One sentence per unhealthy thing (exit status 1)."""
    found = []
    if status.api.error:
        found.append(f"API unreachable: {status.api.error}.")
    else:
        for node in status.nodes():
            seen = status.api.nodes.get(node)
            if seen is None:
                found.append(
                    f"Node {node} is in the inventory but not registered with the API server."
                )
            elif not seen.ready:
                found.append(f"Node {node} is NotReady.")
        for node in status.control_planes():
            for component in status.components():
                state = status.pod_state(node, component)
                if state != "ready":
                    found.append(f"{component} on {node} is {state}.")
        for addon in status.api.addons:
            if addon.missing or addon.workloads_ready < addon.workloads:
                found.append(f"Addon {addon.addon} has not rolled out ({rollout(addon)}).")
    for member in status.hosts.members:
        if member.host in status.unreachable or member.healthy:
            continue
        state = "could not be read" if member.healthy is None else "is unhealthy"
        found.append(f"etcd on {member.host} {state} ({member.problem or 'no detail'}).")
    answered = [m for m in status.hosts.members if m.healthy]
    if answered and status.leader() is None:
        found.append("etcd has no leader.")
    holders = status.hosts.vip_holders
    if status.hosts.vip and not holders and not status.hosts.vip_unknown:
        found.append(
            f"No host holds the API endpoint's virtual IP {status.hosts.vip}: check keepalived."
        )
    if len(holders) > 1:
        found.append(
            f"{len(holders)} hosts hold the virtual IP {status.hosts.vip} ({', '.join(holders)}): "
            "keepalived's peers do not see each other."
        )
    found += status.backups.problems(now.timestamp())
    for row in certs.warned(status.certificates):
        found.append(
            f"Certificate {row.certificate} on {row.host} expires in {row.days_left(now)} days: "
            "renew it with invoke cluster.certs --renew."
        )
    return found


def rollout(addon: Any) -> str:
    missing = f", {len(addon.missing)} missing" if addon.missing else ""
    return f"{addon.workloads_ready}/{addon.workloads} workloads ready{missing}"


def _mark(text: str, good: bool | None) -> Cell:
    return Text(text, "green" if good else "red" if good is False else "yellow")


def vip_text(status: Status) -> tuple[str, bool | None]:
    hosts = status.hosts
    if not hosts.vip:
        return "not used (one API server address)", True
    if len(hosts.vip_holders) > 1:
        return f"two hosts: {', '.join(hosts.vip_holders)} (fault)", False
    if hosts.vip_holders:
        return hosts.vip_holders[0], True
    if hosts.vip_unknown:
        return f"unknown ({', '.join(hosts.vip_unknown)} did not answer)", None
    return "none (fault)", False


def backup_text(status: Status, now: float) -> tuple[str, str]:
    backups = status.backups
    if not backups.configured:
        return "not set up (invoke etcd.schedule sets them up)", "not set up"
    age = backups.backup_age(now)
    last = "none stored" if age is None else f"{ago(age)} ago"
    if backups.calendar:
        last += f" (schedule {backups.calendar})"
    if backups.last_attempt_failed:
        last += "; the latest attempt failed"
    if backups.drill_at is None:
        drill = "never run"
    else:
        drill = f"{ago(backups.drill_age(now) or 0)} ago, " + (
            "passed" if backups.drill_ok else "FAILED"
        )
    return last, drill


def listings(status: Status, now: datetime) -> list[Listing]:
    api = status.api
    summary = Listing(["part", "state"], title="Cluster")
    summary.add("API server", _mark(api.version or f"unreachable: {api.error}", not api.error))
    cni = api.cni
    summary.add(
        "pod network",
        UNKNOWN if api.error else f"{cni.name} {cni.version or '?'}" if cni else "none",
    )
    vip, good = vip_text(status)
    summary.add("virtual IP holder", _mark(vip, good))
    last, drill = backup_text(status, now.timestamp())
    backups_bad = bool(status.backups.problems(now.timestamp()))
    summary.add(
        "last etcd backup", _mark(last, None if not status.backups.configured else not backups_bad)
    )
    summary.add("last restore drill", _mark(drill, status.backups.drill_ok))
    nearest = status.nearest_certificate()
    if nearest is None:
        summary.add("nearest certificate expiry", UNKNOWN)
    else:
        days = nearest.days_left(now) or 0
        summary.add(
            "nearest certificate expiry",
            _mark(f"{days} days: {nearest.certificate} on {nearest.host}", days >= WARN_DAYS),
        )
    return [summary, _nodes(status), _control_plane(status), _etcd(status), _addons(status)]


def _nodes(status: Status) -> Listing:
    table = Listing(["node", "ready", "kubelet", "containerd", "ssh"], title="Nodes")
    for name in status.nodes():
        seen = status.api.nodes.get(name)
        if status.api.error:
            ready: Cell = _mark(UNKNOWN, None)
        else:
            ready = _mark(
                "not registered" if seen is None else "Ready" if seen.ready else "NotReady",
                bool(seen and seen.ready),
            )
        reach = _mark("unreachable", False) if name in status.unreachable else "ok"
        table.add(
            name,
            ready,
            (seen.kubelet if seen else None) or "",
            (seen.containerd if seen else None) or "",
            reach,
        )
    return table


def _control_plane(status: Status) -> Listing:
    components = status.components()
    table = Listing(["control plane", *components], title="Control-plane pods")
    for node in status.control_planes():
        cells = [status.pod_state(node, c) for c in components]
        table.add(node, *(_mark(s, s == "ready" if s != UNKNOWN else None) for s in cells))
    return table


def _etcd(status: Status) -> Listing:
    kind = "external" if status.inv.etcd_external else "stacked"
    table = Listing(
        ["member", "health", "leader", "db size", "revision", "version", "problem"],
        title=f"etcd members ({kind})",
        right=["db size", "revision"],
    )
    leader = status.leader()
    for m in status.hosts.members:
        if m.host in status.unreachable:
            health: Cell = _mark("unreachable", False)
        else:
            word = UNKNOWN if m.healthy is None else "healthy" if m.healthy else "unhealthy"
            health = _mark(word, m.healthy)
        table.add(
            m.host,
            health,
            "yes" if leader == m.host else "",
            human_size(m.db_size) if m.db_size is not None else "",
            str(m.revision) if m.revision is not None else "",
            m.version,
            m.problem,
        )
    return table


def _addons(status: Status) -> Listing:
    table = Listing(["addon", "version", "rolled out", "workloads"], title="Addons")
    if status.api.error:
        table.add(UNKNOWN, "", _mark(UNKNOWN, None), "")
    for addon in status.api.addons:
        done = not addon.missing and addon.workloads_ready == addon.workloads
        table.add(addon.addon, addon.version, _mark("yes" if done else "no", done), rollout(addon))
    return table


def data(status: Status, now: datetime) -> dict[str, Any]:
    """The same view for scripts (``--json``)."""
    api, hosts = status.api, status.hosts
    vip, _ = vip_text(status)
    nearest = status.nearest_certificate()
    return {
        "checked_at": now.isoformat(),
        "healthy": not problems(status, now) and not status.unreachable,
        "problems": problems(status, now),
        "unreachable": {h: status.hosts.gathered.errors[h] for h in status.unreachable},
        "api": {"reachable": not api.error, "version": api.version, "error": api.error or None},
        "cni": {"name": api.cni.name, "version": api.cni.version} if api.cni else None,
        "nodes": [
            {
                "name": name,
                "ready": None if api.error or name not in api.nodes else api.nodes[name].ready,
                "registered": None if api.error else name in api.nodes,
                "kubelet": api.nodes[name].kubelet if name in api.nodes else None,
                "containerd": api.nodes[name].containerd if name in api.nodes else None,
                "reachable": name not in status.unreachable,
            }
            for name in status.nodes()
        ],
        "control_plane": {
            node: {c: status.pod_state(node, c) for c in status.components()}
            for node in status.control_planes()
        },
        "etcd": {
            "mode": "external" if status.inv.etcd_external else "stacked",
            "leader": status.leader(),
            "members": [
                {
                    "host": m.host,
                    "reachable": m.host not in status.unreachable,
                    "healthy": None if m.host in status.unreachable else m.healthy,
                    "leader": status.leader() == m.host,
                    "db_size": m.db_size,
                    "revision": m.revision,
                    "version": m.version or None,
                    "problem": m.problem or None,
                }
                for m in hosts.members
            ],
        },
        "vip": {
            "address": hosts.vip,
            "holders": hosts.vip_holders,
            "unknown": hosts.vip_unknown,
            "state": vip,
        },
        "backups": status.backups.data(now.timestamp()),
        "nearest_certificate": nearest.data(now) if nearest else None,
        "addons": [
            {
                "name": a.addon,
                "version": a.version,
                "workloads_ready": a.workloads_ready,
                "workloads": a.workloads,
                "missing": list(a.missing),
                "rolled_out": not a.missing and a.workloads_ready == a.workloads,
            }
            for a in api.addons
        ],
    }
