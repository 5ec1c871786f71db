"""The etcd membership as a live member sees it, and the quorum rules of changing it.

Removing a member or adding one changes how many members a quorum needs, so both
are refused before anything is touched when the members that answer would be too few
afterwards: a removal that leaves fewer healthy members than a quorum of the rest, an
addition (a joining control plane with stacked etcd, a new external member) while dead
members still count. Read over SSH from the hosts that hold an etcd client certificate
(``members_probe.py`` on each at once), so a dead member costs only its own answer.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kubeprimer import yamlfile
from kubeprimer.inventory import Inventory
from kubeprimer.paths import ROLES
from kubeprimer.preflight.remote import PYTHON
from kubeprimer.upgrade import remote

PROBE = Path(__file__).with_name("members_probe.py")
# kubeadm's stacked etcd: its CA, and the API server's client certificate for it.
STACKED_TLS = (
    "/etc/kubernetes/pki/etcd/ca.crt",
    "/etc/kubernetes/pki/apiserver-etcd-client.crt",
    "/etc/kubernetes/pki/apiserver-etcd-client.key",
)
STACKED_DATA = "/var/lib/etcd"
STACKED_CLIENT_PORT = 2379


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    healthy: bool

    @property
    def addresses(self) -> set[str]:
        return {urlsplit(u).hostname or "" for u in self.peer_urls + self.client_urls}


@dataclass(frozen=True)
class Membership:
    """What one live member said; ``members`` is None when no member could be asked."""

    members: tuple[Member, ...] | None
    via: str
    data_on: tuple[str, ...]  # hosts holding etcd data: the cluster exists when any does
    answered: tuple[str, ...]  # hosts that answered over SSH
    problems: tuple[str, ...]

    def find(self, name: str, address: str) -> Member | None:
        for member in self.members or ():
            if member.name == name or address in member.addresses:
                return member
        return None


def quorum(size: int) -> int:
    return size // 2 + 1


def stacked(inv: Inventory) -> bool:
    return str(inv.settings.get("etcd_mode", "stacked")) != "external"


def member_hosts(inv: Inventory) -> list[str]:
    """The inventory hosts that are etcd members: the etcd group, or with stacked etcd
    the control planes."""
    return list(inv.groups.get("kube_control_plane" if stacked(inv) else "etcd", []))


def member_address(inv: Inventory, host: str) -> str:
    """The address a member's URLs carry: what roles/kubeadm advertises for stacked
    etcd, the host's ansible_host for roles/etcd."""
    found = inv.hosts[host]
    if stacked(inv):
        return str(found.vars.get("kubeadm_advertise_address") or found.address)
    return found.address


def _tls(inv: Inventory) -> tuple[str, str, str, str, int]:
    if stacked(inv):
        return (*STACKED_TLS, STACKED_DATA, STACKED_CLIENT_PORT)
    etcd_vars = yamlfile.read(ROLES / "etcd" / "vars" / "main.yml") or {}
    defaults = yamlfile.read(ROLES / "etcd" / "defaults" / "main.yml") or {}
    pki = str(etcd_vars.get("_etcd_pki_dir", "/etc/etcd/pki"))
    data = str(inv.settings.get("etcd_data_dir", defaults.get("etcd_data_dir")))
    port = int(inv.settings.get("etcd_client_port", defaults.get("etcd_client_port", 2379)))
    return f"{pki}/ca.crt", f"{pki}/etcd-member.crt", f"{pki}/etcd-member.key", data, port


def probe_command(inv: Inventory, urls: Iterable[str]) -> str:
    """The shell line that runs members_probe.py on a host with this inventory's TLS files."""
    ca, cert, key, data, _ = _tls(inv)
    code = base64.b64encode(PROBE.read_bytes()).decode()
    runner = f"import base64;exec(compile(base64.b64decode('{code}'),'members_probe','exec'))"
    args = [ca, cert, key, data, *urls]
    return f"{PYTHON} -c {shlex.quote(runner)} {' '.join(shlex.quote(a) for a in args)}"


def client_urls(inv: Inventory, hosts: Iterable[str]) -> list[str]:
    port = _tls(inv)[4]
    return [f"https://{member_address(inv, h)}:{port}" for h in hosts]


def read(
    inv: Inventory,
    ask: list[str],
    also: Iterable[str] = (),
    run: remote.Runner | None = None,
) -> tuple[Membership, dict[str, remote.Answer]]:
    """The membership read through each host of ``ask`` at once (the first full answer
    wins); ``also`` are hosts asked the same question only to learn whether they answer
    over SSH. Every answer comes back too, keyed by host."""
    hosts = list(dict.fromkeys([*ask, *also]))
    urls = client_urls(inv, member_hosts(inv))
    # Looked up at each call, so a test double put in its place is the one used.
    answers = (run or remote.run)(inv, hosts, probe_command(inv, urls), 10) if hosts else {}
    members: tuple[Member, ...] | None = None
    via = ""
    data_on: list[str] = []
    problems: list[str] = []
    for host in hosts:
        answer = answers.get(host) or remote.Answer(False, "", "no answer")
        said = answer.json_line() if answer.ok else None
        if said is None:
            if host in ask:
                problems.append(f"{host}: {answer.problem or 'no answer'}")
            continue
        if said.get("data"):
            data_on.append(host)
        if host not in ask:
            continue
        if said.get("members") is None:
            problems.append(f"{host}: {said.get('error') or 'no member answered'}")
        elif members is None:
            health = said.get("health") or {}
            members = tuple(_member(m, health) for m in said["members"])
            via = host
    answered = tuple(h for h in hosts if (answers.get(h) or remote.Answer(False, "")).ok)
    return Membership(members, via, tuple(data_on), answered, tuple(problems)), answers


def _member(raw: dict[str, object], health: dict[str, bool]) -> Member:
    clients = tuple(str(u) for u in raw.get("clientURLs") or [])  # type: ignore[attr-defined]
    return Member(
        id=str(raw.get("ID", "")),
        name=str(raw.get("name") or ""),
        peer_urls=tuple(str(u) for u in raw.get("peerURLs") or []),  # type: ignore[attr-defined]
        client_urls=clients,
        healthy=any(health.get(u) for u in clients),
    )


def _unhealthy(members: Iterable[Member]) -> str:
    return ", ".join(m.name or ",".join(m.peer_urls) for m in members if not m.healthy)


def removal_refusal(found: Membership, host: str, address: str) -> str | None:
    """Why removing ``host``'s member now would lose etcd's quorum, or None. Without
    data on any member there is no etcd yet, so no member to remove."""
    if found.members is None and not found.data_on:
        return None
    if found.members is None:
        return (
            f"No etcd member answered ({'; '.join(found.problems) or 'none was asked'}), so "
            f"removing {host} cannot be checked against etcd's quorum; bring the members back first."
        )
    target = found.find(host, address)
    if target is None:
        return None
    rest = [m for m in found.members if m is not target]
    if not rest:
        return f"{host} is the last etcd member; removing it would delete the cluster's data."
    healthy = sum(m.healthy for m in rest)
    if healthy < quorum(len(rest)):
        return (
            f"Removing {host} would leave {len(rest)} etcd members of which only {healthy} "
            f"answer, fewer than the {quorum(len(rest))} a quorum needs; bring back "
            f"{_unhealthy(rest)} first."
        )
    return None


def join_refusal(found: Membership, joining: dict[str, str]) -> str | None:
    """Why adding the members of ``joining`` (host: address) now would lose etcd's
    quorum, or None. A cluster without data anywhere is being made, not joined."""
    if not found.data_on:
        return None
    if found.members is None:
        return (
            f"No etcd member answered ({'; '.join(found.problems) or 'none was asked'}), so "
            f"{', '.join(joining)} cannot join without risking etcd's quorum; bring the members "
            "back first."
        )
    new = [h for h, a in joining.items() if found.find(h, a) is None]
    size = len(found.members) + len(new)
    healthy = sum(m.healthy for m in found.members)
    if new and healthy < quorum(size):
        return (
            f"Adding {', '.join(new)} would make {size} etcd members of which only {healthy} "
            f"answer, fewer than the {quorum(size)} a quorum needs; remove the dead members "
            f"({_unhealthy(found.members)}) with invoke cluster.remove-node first."
        )
    return None
