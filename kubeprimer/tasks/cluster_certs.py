"""cluster.certs: list the cluster's certificates and their expiry, or renew them."""

from __future__ import annotations

from typing import Any

from invoke import Exit

from kubeprimer.ansible import EXIT_UNREACHABLE
from kubeprimer.errors import UserError
from kubeprimer.output import JSON_HELP, console, emit_json, show
from kubeprimer.settings import resolve, setting
from kubeprimer.tasks._common import INVENTORY_HELP, load_inventory
from kubeprimer.tasks._task import task


@task(
    help={
        "inventory": INVENTORY_HELP,
        "warn_days": "exit 1 when a certificate expires within this many days (default 30)",
        "renew": "renew kubeadm's certificates and reissue etcd's and Vault's, one host at a time",
        "yes": "with --renew: do not ask for confirmation",
        "timeout": "seconds to wait for each host's SSH connection (default 10)",
        "json": JSON_HELP,
    }
)
def certs(
    c: Any,
    inventory: str | None = None,
    warn_days: int = 30,
    renew: bool = False,
    yes: bool = False,
    timeout: int = 10,
    json: bool = False,
) -> None:
    """List every certificate the cluster depends on with its expiry; --renew renews them."""
    from kubeprimer.cluster import certs as listing

    warn = listing.check_warn_days(warn_days)
    if yes and not renew:
        raise UserError("--yes only goes with --renew; add --renew, or leave --yes out to list.")
    inv = load_inventory(c, inventory)
    if renew:
        from kubeprimer.cluster import certs_renew

        certs_renew.renew(c, inv, yes=yes, out=console(as_json=json))
        return
    out = console(as_json=json)
    runs_dir = resolve(setting(c, "runs_dir"))
    found = listing.read_hosts(inv, runs_dir, timeout=timeout)
    for line in found.recorded:
        out.print(line)
    for sentence in found.refused:
        out.print(sentence)
    now = listing.now_utc()
    rows = listing.collect(inv, found.facts, found.errors, now, warn)
    if json:
        emit_json(listing.data(rows, now, warn))
    else:
        show(out, listing.listing(rows, now, warn))
    expiring = listing.warned(rows)
    if expiring:
        raise Exit(
            f"{len(expiring)} certificate(s) expire within {warn} days: renew them with "
            "invoke cluster.certs --renew.",
            code=1,
        )
    if found.unreachable:
        raise Exit(
            "Some hosts could not be read (marked unreachable): fix their SSH access and run "
            "cluster.certs again.",
            code=EXIT_UNREACHABLE,
        )
