"""cluster.cis's rows: every check for every host the inventory makes a control plane,
a node or an etcd member, evaluated on the controller from one probe answer per host."""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeprimer.cis import facts
from kubeprimer.cis.catalog import CHECKS
from kubeprimer.cis.check import FAIL, NA, PASS, UNKNOWN, WARN, Check, Host
from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory

if TYPE_CHECKING:
    from kubeprimer.preflight.remote import Gathered

PROBE = Path(__file__).with_name("probe.py")
CONTROL_PLANE, NODE, ETCD = "kube_control_plane", "kube_node", "etcd"
ORDER = (FAIL, UNKNOWN, WARN, PASS, NA)


@dataclass(frozen=True)
class Row:
    check: str
    host: str
    status: str
    title: str
    fix: str
    detail: str = ""

    def data(self) -> dict[str, str]:
        return {
            "check": self.check,
            "host": self.host,
            "status": self.status,
            "title": self.title,
            "fix": self.fix,
            "detail": self.detail,
        }


def roles(inv: Inventory, name: str) -> Host:
    """What the inventory makes ``name``, without its facts yet."""
    groups = inv.hosts[name].groups
    outside = inv.etcd_external
    control_plane = CONTROL_PLANE in groups
    return Host(
        name,
        facts.HostFacts(),
        control_plane=control_plane,
        node=control_plane or NODE in groups,
        etcd=(ETCD in groups) if outside else control_plane,
        external_etcd=outside,
    )


def checked_hosts(inv: Inventory) -> list[str]:
    """The hosts the benchmark covers, in inventory order; none is bad input."""
    found = [n for n in inv.hosts if (h := roles(inv, n)).control_plane or h.node or h.etcd]
    if not found:
        raise UserError(
            f"{inv.path} lists no host in kube_control_plane, kube_node or etcd; "
            "add the cluster's hosts to those groups."
        )
    return found


def command() -> str:
    from kubeprimer.preflight import remote

    argument = base64.b64encode(json.dumps(facts.wanted()).encode()).decode()
    return remote.probe_command([argument], script=PROBE)


def read(inv: Inventory, runs_dir: Path, timeout: int) -> Gathered:
    """Every host at once, as cluster.check reaches them (host keys checked the same way)."""
    from kubeprimer.preflight import remote

    return remote.gather(inv, timeout=timeout, runs_dir=runs_dir, command=command(), label="cis")


def host_rows(host: Host, checks: list[Check] = CHECKS) -> list[Row]:
    rows = []
    for check in checks:
        verdict = check.verdict(host)
        rows.append(
            Row(check.id, host.name, verdict.status, check.title, check.fix, verdict.detail)
        )
    return rows


def unknown_rows(host: Host, reason: str, checks: list[Check] = CHECKS) -> list[Row]:
    """A host that did not answer: UNKNOWN wherever a check applies to it."""
    return [
        Row(c.id, host.name, UNKNOWN if host.is_(c.scope) else NA, c.title, c.fix, reason)
        for c in checks
    ]


def collect(
    inv: Inventory, gathered_facts: dict[str, dict[str, Any]], errors: dict[str, str]
) -> list[Row]:
    rows: list[Row] = []
    for name in checked_hosts(inv):
        shape = roles(inv, name)
        if name not in gathered_facts:
            rows += unknown_rows(shape, errors.get(name, "no answer"))
            continue
        found = facts.HostFacts.from_probe(gathered_facts[name])
        host = Host(name, found, shape.control_plane, shape.node, shape.etcd, shape.external_etcd)
        rows += host_rows(host)
    return rows


def counts(rows: list[Row]) -> dict[str, int]:
    found = Counter(r.status for r in rows)
    return {status: found.get(status, 0) for status in ORDER}


def failed(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.status == FAIL]
