"""cluster.status over SSH: one parallel round to every host (``status_probe.py``).

Each host answers for itself: its certificates (read as cluster.certs reads them), its
etcd member (external etcd with the member's certificate, stacked etcd with kubeadm's
healthcheck client, both on 127.0.0.1), whether it holds the API endpoint's virtual IP,
and the etcd backup agent's records. A host that does not answer costs only its own
part of the view.
"""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeprimer import yamlfile
from kubeprimer.cluster import certs
from kubeprimer.inventory import Inventory
from kubeprimer.paths import ROLES
from kubeprimer.preflight.remote import PYTHON, Gathered

PROBE = Path(__file__).with_name("status_probe.py")
# Where the etcd_backup role writes the agent's settings (kubeprimer/etcd/agent/config.py).
BACKUP_SETTINGS = "/etc/kubeprimer/etcd-backup/config.json"
# kubeadm's client certificate for etcd health checks on a control plane.
KUBEADM_ETCD = {
    "ca": "/etc/kubernetes/pki/etcd/ca.crt",
    "cert": "/etc/kubernetes/pki/etcd/healthcheck-client.crt",
    "key": "/etc/kubernetes/pki/etcd/healthcheck-client.key",
}


def _role_setting(inv: Inventory, role: str, name: str, fallback: Any) -> Any:
    defaults = yamlfile.read(ROLES / role / "defaults" / "main.yml") or {}
    return inv.settings.get(name, defaults.get(name, fallback))


def etcd_members(inv: Inventory) -> list[str]:
    """The hosts that run an etcd member: the etcd group, or the control planes (stacked)."""
    group = "etcd" if inv.etcd_external else "kube_control_plane"
    return list(inv.groups.get(group, []))


def etcd_client(inv: Inventory) -> dict[str, str]:
    """The certificate and port the probe asks its local member with."""
    port = str(_role_setting(inv, "etcd", "etcd_client_port", 2379))
    if not inv.etcd_external:
        return {**KUBEADM_ETCD, "port": port}
    pki = str((yamlfile.read(ROLES / "etcd" / "vars" / "main.yml") or {})["_etcd_pki_dir"])
    return {
        "ca": f"{pki}/ca.crt",
        "cert": f"{pki}/etcd-member.crt",
        "key": f"{pki}/etcd-member.key",
        "port": port,
    }


def vip_hosts(inv: Inventory) -> list[str]:
    """The hosts keepalived may put the virtual IP on (roles/api_endpoint)."""
    group = _role_setting(inv, "api_endpoint", "api_endpoint_hosts_group", "kube_control_plane")
    return list(inv.groups.get(str(group), []))


def vip(inv: Inventory) -> str | None:
    """The address keepalived moves between control planes, or None when there is none
    (one control plane, no ``kube_api_endpoint``, or api_endpoint_enabled: never)."""
    endpoint = str(inv.settings.get("kube_api_endpoint") or "")
    enabled = str(_role_setting(inv, "api_endpoint", "api_endpoint_enabled", "auto"))
    holders = vip_hosts(inv)
    if not endpoint or enabled == "never" or (enabled == "auto" and len(holders) < 2):
        return None
    return endpoint.rsplit(":", 1)[0] if ":" in endpoint else endpoint


def command(inv: Inventory, timeout: int) -> str:
    """The probe and cluster.certs' reader, in one command every host runs."""
    wanted = {
        "certificates": certs.probe_paths(inv),
        "etcd": etcd_client(inv),
        "vip": vip(inv),
        "backup": BACKUP_SETTINGS,
        "timeout": min(timeout, 5),
    }
    reader = base64.b64encode(certs.PROBE.read_bytes()).decode()
    probe = base64.b64encode(PROBE.read_bytes()).decode()
    runner = (
        "import base64;g={'__name__':'certs_probe'};"
        f"exec(compile(base64.b64decode('{reader}'),'certs_probe','exec'),g);"
        "CERTS_MAIN=g['main'];"
        f"exec(compile(base64.b64decode('{probe}'),'status_probe','exec'))"
    )
    argument = base64.b64encode(json.dumps(wanted).encode()).decode()
    return f"{PYTHON} -c {shlex.quote(runner)} {argument}"


def read(inv: Inventory, runs_dir: Path, timeout: int) -> Gathered:
    """Every host at once, as cluster.check reaches them (host keys checked the same way)."""
    from kubeprimer.preflight import remote

    return remote.gather(
        inv, timeout=timeout, runs_dir=runs_dir, command=command(inv, timeout), label="status"
    )


@dataclass(frozen=True)
class Member:
    """One etcd member as it answered on its host; ``problem`` says why a part is missing."""

    host: str
    healthy: bool | None = None
    leader: bool | None = None
    member_id: str = ""
    leader_id: str = ""
    db_size: int | None = None
    revision: int | None = None
    version: str = ""
    problem: str = ""


def member(host: str, facts: dict[str, Any] | None, reason: str) -> Member:
    """The member on ``host`` from its probe answer (None: the host did not answer)."""
    if facts is None:
        return Member(host, problem=reason)
    found = facts.get("etcd")
    if found is None:
        return Member(host, problem="no etcd client certificate on the host")
    status = found.get("status") or {}
    header = status.get("header") or {}
    health = found.get("health") or {}
    error = str(found.get("error") or "")
    # A member that did not answer /health is not healthy, whatever the reason.
    healthy = str(health.get("health")) == "true"
    reason = "" if healthy else str(health.get("reason") or "") or "unhealthy"
    member_id, leader_id = str(header.get("member_id") or ""), str(status.get("leader") or "")
    return Member(
        host,
        healthy=healthy,
        leader=(member_id == leader_id) if member_id and leader_id else None,
        member_id=member_id,
        leader_id=leader_id,
        db_size=int(status["dbSize"]) if status.get("dbSize") else None,
        revision=int(header["revision"]) if header.get("revision") else None,
        version=str(status.get("version") or ""),
        problem=error or reason,
    )


@dataclass
class Hosts:
    """What the SSH round found, by host."""

    gathered: Gathered
    members: list[Member] = field(default_factory=list)
    vip: str | None = None
    # Control planes that carry the VIP; None where a host could not tell or answer.
    vip_holders: list[str] = field(default_factory=list)
    vip_unknown: list[str] = field(default_factory=list)
    backups: dict[str, dict[str, Any]] = field(default_factory=dict)


def assemble(inv: Inventory, gathered: Gathered) -> Hosts:
    found = Hosts(gathered, vip=vip(inv))
    for host in etcd_members(inv):
        facts = gathered.facts.get(host)
        found.members.append(member(host, facts, gathered.errors.get(host, "no answer")))
    for host in vip_hosts(inv) if found.vip else []:
        facts = gathered.facts.get(host)
        holds = facts.get("vip") if facts is not None else None
        if holds:
            found.vip_holders.append(host)
        elif holds is None:
            found.vip_unknown.append(host)
    for host, facts in gathered.facts.items():
        if facts.get("backup"):
            found.backups[host] = facts["backup"]
    return found
