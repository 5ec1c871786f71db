"""cluster.certs: every certificate the cluster depends on, with its expiry.

The hosts are read in parallel over SSH by a read-only probe (``certs_probe.py``, run
the way cluster.check runs its own); the certificates are decoded here, on the
controller, with ``cryptography``. A host that does not answer gets one row marked
unreachable and the others are still shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeprimer.cluster import certs_catalog
from kubeprimer.cluster.certs_catalog import Wanted
from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory
from kubeprimer.output import Listing

if TYPE_CHECKING:
    from kubeprimer.preflight.remote import Gathered

PROBE = Path(__file__).with_name("certs_probe.py")
CONTROLLER = "controller"
DEFAULT_WARN_DAYS = 30

# Row states, worst last: the exit status and the colour follow them.
OK, EXPIRING, EXPIRED = "ok", "expiring", "expired"
UNREACHABLE, UNREADABLE = "unreachable", "unreadable"


@dataclass(frozen=True)
class Row:
    host: str
    certificate: str
    path: str
    status: str
    expires: datetime | None = None
    issuer: str = ""
    subject: str = ""
    error: str = ""

    def days_left(self, now: datetime) -> int | None:
        if self.expires is None:
            return None
        # Whole days still left: a certificate that ends in 12 hours has 0.
        return math.floor((self.expires - now).total_seconds() / 86400)

    def data(self, now: datetime) -> dict[str, Any]:
        return {
            "host": self.host,
            "certificate": self.certificate,
            "path": self.path,
            "expires": self.expires.isoformat() if self.expires else None,
            "days_left": self.days_left(now),
            "issuer": self.issuer or None,
            "subject": self.subject or None,
            "status": self.status,
            "error": self.error or None,
        }


def check_warn_days(warn_days: int) -> int:
    if warn_days < 0:
        raise UserError(
            f"--warn-days is {warn_days}; give the number of days ahead to warn about, 0 or more."
        )
    return warn_days


def _name(value: Any) -> str:
    from cryptography.x509.oid import NameOID

    common = value.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else str(value.rfc4514_string())


def decoded(host: str, wanted: Wanted, pems: list[str], now: datetime, warn_days: int) -> Row:
    """The row for the first certificate of a file (a leaf, or a CA in a bundle's front)."""
    from cryptography import x509

    if not pems:
        return Row(host, wanted.name, wanted.path, UNREADABLE, error="no certificate in the file")
    try:
        cert = x509.load_pem_x509_certificate(pems[0].encode())
    except ValueError as error:
        return Row(host, wanted.name, wanted.path, UNREADABLE, error=f"not a certificate ({error})")
    expires = cert.not_valid_after_utc
    left = expires - now
    status = EXPIRED if left.total_seconds() <= 0 else EXPIRING if left.days < warn_days else OK
    return Row(
        host,
        wanted.name,
        wanted.path,
        status,
        expires=expires,
        issuer=_name(cert.issuer),
        subject=_name(cert.subject),
    )


def host_rows(
    host: str, wanted: list[Wanted], facts: dict[str, Any], now: datetime, warn_days: int
) -> list[Row]:
    """Rows from what the probe found on one host, in the catalogue's order."""
    found = facts.get("certificates") or {}
    errors = facts.get("errors") or {}
    rows = []
    for want in wanted:
        if want.path in errors:
            rows.append(Row(host, want.name, want.path, UNREADABLE, error=str(errors[want.path])))
        elif want.path in found:
            rows.append(decoded(host, want, list(found[want.path]), now, warn_days))
    return rows


def controller_rows(inv: Inventory, now: datetime, warn_days: int) -> list[Row]:
    from kubeprimer.cluster.certs_probe import certificates

    rows = []
    for want in certs_catalog.on_controller(inv):
        path = Path(want.path)
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except OSError as error:
            rows.append(Row(CONTROLLER, want.name, want.path, UNREADABLE, error=str(error)))
            continue
        rows.append(decoded(CONTROLLER, want, certificates(text), now, warn_days))
    return rows


def probe_paths(inv: Inventory) -> list[str]:
    """Every path any host may hold; each host reports those it has."""
    paths = {w.path for host in inv.hosts.values() for w in certs_catalog.on_host(inv, host)}
    return sorted(paths)


def collect(
    inv: Inventory,
    facts: dict[str, dict[str, Any]],
    errors: dict[str, str],
    now: datetime,
    warn_days: int,
) -> list[Row]:
    """Every row: hosts in inventory order (an unanswered host as one row), then the
    controller's CAs."""
    rows: list[Row] = []
    for name, host in inv.hosts.items():
        wanted = certs_catalog.on_host(inv, host)
        if not wanted:
            continue
        if name in facts:
            rows += host_rows(name, wanted, facts[name], now, warn_days)
        else:
            reason = errors.get(name, "no answer")
            rows.append(Row(name, "(all)", "", UNREACHABLE, error=reason))
    return rows + controller_rows(inv, now, warn_days)


def read_hosts(inv: Inventory, runs_dir: Path, timeout: int = 10) -> Gathered:
    """Read every host in parallel, as cluster.check does (host keys checked the same way)."""
    from kubeprimer.preflight import remote

    return remote.gather(
        inv,
        timeout=timeout,
        runs_dir=runs_dir,
        command=remote.probe_command(probe_paths(inv), script=PROBE),
        label="certs",
    )


def warned(rows: Iterable[Row]) -> list[Row]:
    return [r for r in rows if r.status in (EXPIRING, EXPIRED)]


_STYLE = {EXPIRING: "yellow", EXPIRED: "bold red", UNREACHABLE: "red", UNREADABLE: "red"}


def listing(rows: list[Row], now: datetime, warn_days: int) -> Listing:
    from rich.text import Text

    table = Listing(
        columns=["host", "certificate", "expires", "days left", "issuer"],
        right=["days left"],
        title=f"Certificates (warning within {warn_days} days)",
    )
    for row in rows:
        style = _STYLE.get(row.status, "")
        if row.expires is None:
            table.add(row.host, row.certificate, Text(row.status, style), "", row.error)
            continue
        days = row.days_left(now)
        table.add(
            row.host,
            row.certificate,
            row.expires.strftime("%Y-%m-%d"),
            Text(str(days), style),
            row.issuer,
        )
    return table


def data(rows: list[Row], now: datetime, warn_days: int) -> dict[str, Any]:
    return {
        "warn_days": warn_days,
        "checked_at": now.isoformat(),
        "certificates": [r.data(now) for r in rows],
        "expiring": len(warned(rows)),
        "unreachable": sorted({r.host for r in rows if r.status == UNREACHABLE}),
    }


def now_utc() -> datetime:
    return datetime.now(UTC)
