"""Which servers a task talks to: --address, or every host of the inventory's vault group."""

from __future__ import annotations

import re
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
    found = []
    for host in hosts:
        port = host.vars.get("vault_api_port", DEFAULT_PORT)
        # [0-9], not isdigit(): that also takes "²", which int() then refuses.
        plain = not isinstance(port, bool) and re.fullmatch(r"[0-9]+", str(port))
        if not plain or not 0 < int(port) < 65536:
            raise UserError(
                f"{inv.path}: vault_api_port of {host.name} is {port!r}; "
                "set it to a port number from 1 to 65535."
            )
        found.append(endpoint(f"https://{host.address}:{int(port)}", ca))
    return found


def from_addresses(addresses: str, ca_cert: str | None) -> list[Endpoint]:
    """Comma-separated addresses; the first is the one `vault.init` initialises."""
    found = [endpoint(a.strip(), ca_cert) for a in addresses.split(",") if a.strip()]
    if not found:
        raise UserError("--address lists no server.")
    return found
