"""What every task that runs a playbook does: validate first, then run and report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from invoke import Exit

from kubeprimer import inventory
from kubeprimer.ansible import EXIT_OK, RunResult, run_playbook
from kubeprimer.errors import UserError, raise_if
from kubeprimer.settings import inventory_path, resolve, setting

INVENTORY_HELP = "Ansible inventory (default: kubeprimer.inventory in invoke.yaml, the lab's)"
KUBECONFIG_HELP = (
    "kubeconfig of the cluster (default: with -i, the admin kubeconfig cluster.up left beside "
    "that inventory if there; else $KUBECONFIG, ~/.kube/config, the default inventory's)"
)

# The groups each playbook acts on, with what belongs in them. Ansible runs a play on
# an empty group as "no hosts matched" and ends with status 0, having done nothing.
_ETCD = ("etcd", "the etcd members (with etcd_mode stacked, the control planes)")
REQUIRED_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "vault.yml": (("vault", "the Vault servers"),),
    "storage.yml": (("storage", "the storage servers"),),
    "etcd_backup.yml": (_ETCD,),
    "etcd_schedule.yml": (_ETCD,),
    "etcd_list.yml": (_ETCD,),
    "etcd_verify.yml": (_ETCD,),
    "etcd_restore.yml": (_ETCD,),
}


def load_inventory(c: Any, given: str | None) -> inventory.Inventory:
    """The validated inventory; every problem in it ends the task with status 2."""
    return inventory.load_valid(inventory_path(c, given))


def kubeconfig_path(c: Any, given: str | None, inventory_given: str | None) -> Path | None:
    """The kubeconfig a task uses, found as the Vault tasks find their servers: the option;
    with -i, the admin kubeconfig cluster.up fetched beside that inventory, when it is
    there (a cluster made otherwise keeps its own); else the client's own default
    ($KUBECONFIG, ~/.kube/config); else the default inventory's admin kubeconfig.
    None leaves the choice to the client, which then names what is missing."""
    from kubeprimer.cluster.kubeconfig import admin_kubeconfig

    if given:
        return Path(given).expanduser()
    if inventory_given:
        fetched = admin_kubeconfig(load_inventory(c, inventory_given))
        return fetched if fetched.is_file() else None
    if os.environ.get("KUBECONFIG") or Path("~/.kube/config").expanduser().is_file():
        return None
    default = inventory_path(c, None)
    if not default.is_file():
        return None
    try:
        fetched = admin_kubeconfig(load_inventory(c, None))
    except UserError:
        # Not asked for: the client's own message is the one to give.
        return None
    return fetched if fetched.is_file() else None


def play(c: Any, playbook: str, given_inventory: str | None, **options: Any) -> RunResult:
    """Validate the inventory, run the playbook, and end the task if it failed."""
    return play_on(c, playbook, load_inventory(c, given_inventory), **options)


def missing_groups(playbook: str, inv: inventory.Inventory) -> list[str]:
    """One sentence per group the playbook needs that has no hosts in ``inv``."""
    return [
        f"The inventory has no hosts in group {group}; add {what} there."
        for group, what in REQUIRED_GROUPS.get(playbook, ())
        if not inv.group(group)
    ]


def play_on(c: Any, playbook: str, inv: inventory.Inventory, **options: Any) -> RunResult:
    """Run the playbook on an inventory already validated, and end the task if it failed."""
    raise_if(missing_groups(playbook, inv))
    inventory.require_unlocked(inv)
    result = run_playbook(
        playbook,
        inv.path,
        hosts=len(inv.hosts),
        runs_dir=resolve(setting(c, "runs_dir")),
        forks_max=int(setting(c, "forks_max")),
        **options,
    )
    if result.exit_code != EXIT_OK:
        raise Exit(
            f"{playbook} did not complete; the failing tasks are listed above and the full log is in {result.log_dir}.",
            code=result.exit_code,
        )
    return result


__all__ = [
    "INVENTORY_HELP",
    "KUBECONFIG_HELP",
    "REQUIRED_GROUPS",
    "kubeconfig_path",
    "load_inventory",
    "missing_groups",
    "play",
    "play_on",
]
