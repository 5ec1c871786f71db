"""Which servers a task talks to: --address, or every host of the inventory's vault group."""

from __future__ import annotations

from typing import Any

from kubeprimer.errors import UserError
from kubeprimer.vault.connect import Endpoint, endpoint

DEFAULT_PORT = 8200


def from_inventory(inv: Any, ca_cert: str | None) -> list[Endpoint]:
    """https://HOST:vault_api_port for each vault host; the CA defaults to the toolkit's own."""
    hosts = inv.group("vault")
    if not hosts:
        raise UserError(f"{inv.path} has no hosts in the vault group: add them or pass --address.")
    ca = ca_cert or str(inv.path.parent / ".pki" / "ca.crt")
    return [
        endpoint(f"https://{h.address}:{int(h.vars.get('vault_api_port', DEFAULT_PORT))}", ca)
        for h in hosts
    ]


def from_addresses(addresses: str, ca_cert: str | None) -> list[Endpoint]:
    """Comma-separated addresses; the first is the one `vault.init` initialises."""
    found = [endpoint(a.strip(), ca_cert) for a in addresses.split(",") if a.strip()]
    if not found:
        raise UserError("--address lists no server.")
    return found
