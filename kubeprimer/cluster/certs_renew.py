"""cluster.certs --renew: the confirmation, the renewal's start time, and the playbook.

The start time is what makes an interrupted renewal finishable: it is kept beside the
inventory (``artifacts/certs-renewal``) until the playbook completes, and the playbook
treats a certificate issued since then as renewed already. A re-run after a failure or
a kill therefore renews only what the first run did not reach.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from invoke import Exit

from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory

PLAYBOOK = "certs_renew.yml"
ASN1_TIME = "%Y%m%d%H%M%SZ"


def pending_file(inv: Inventory) -> Path:
    return inv.path.parent / "artifacts" / "certs-renewal"


def confirm(yes: bool, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """A renewal restarts every control plane's static pods and every etcd member:
    the user says yes, or passes --yes."""
    if yes:
        return
    if not stdin.isatty():
        raise UserError(
            "cluster.certs --renew restarts the control planes, etcd members and Vault servers "
            "one at a time and needs confirmation: run it in a terminal, or add --yes."
        )
    stdout.write(
        "This renews every certificate the cluster depends on and restarts the control-plane "
        "pods, etcd members and Vault servers one host at a time.\nRenew now? [y/N] "
    )
    stdout.flush()
    if stdin.readline().strip().lower() not in ("y", "yes"):
        raise UserError("Not confirmed, so nothing was renewed; run the task again and answer yes.")


def check_hosts(inv: Inventory) -> None:
    external = inv.settings.get("etcd_mode", "stacked") == "external"
    if not (
        inv.group("kube_control_plane") or (external and inv.group("etcd")) or inv.group("vault")
    ):
        raise UserError(
            f"{inv.path} has no control planes, external etcd members or Vault servers, so there "
            "is nothing to renew; list them in the groups kube_control_plane, etcd or vault."
        )


def started_at(inv: Inventory, now: datetime) -> str:
    """The unfinished renewal's start time, or ``now`` for a new one (kept, mode 0600)."""
    path = pending_file(inv)
    if path.is_file():
        kept = path.read_text().strip()
        try:
            datetime.strptime(kept, ASN1_TIME)
        except ValueError:
            raise UserError(
                f"{path} does not hold a renewal start time ({kept!r}); delete it and run "
                "cluster.certs --renew again."
            ) from None
        return kept
    stamp = now.strftime(ASN1_TIME)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(stamp + "\n")
    path.chmod(0o600)
    return stamp


def renew(c: Any, inv: Inventory, yes: bool, out: Any) -> None:
    """Confirm, then run the renewal playbook; a failed run is finished by the next."""
    from kubeprimer.cluster.certs import now_utc
    from kubeprimer.cluster.kubeconfig import admin_kubeconfig
    from kubeprimer.tasks._common import play_on

    check_hosts(inv)
    confirm(yes)
    path = pending_file(inv)
    resumed = path.is_file()
    stamp = started_at(inv, now_utc())
    if resumed:
        out.print(f"Finishing the renewal begun at {stamp} (hosts renewed since are skipped).")
    try:
        play_on(c, PLAYBOOK, inv, extravars={"kubeprimer_certs_renewed_after": stamp})
    except Exit as failed:
        raise Exit(
            f"{failed.message} Run invoke cluster.certs --renew again to finish: hosts renewed "
            "already are not renewed twice.",
            code=failed.code,
        ) from None
    path.unlink()
    message = "Certificates renewed."
    if inv.group("kube_control_plane"):
        message += f" Admin kubeconfig fetched again (mode 0600): {admin_kubeconfig(inv)}"
    out.print(message + "\nCheck them with: invoke cluster.certs")
