"""What every task that runs a playbook does: validate first, then run and report."""

from __future__ import annotations

from typing import Any

from invoke import Exit

from kubeprimer import inventory
from kubeprimer.ansible import EXIT_OK, RunResult, run_playbook
from kubeprimer.errors import raise_if
from kubeprimer.settings import inventory_path, resolve, setting

INVENTORY_HELP = "Ansible inventory (default: kubeprimer.inventory in invoke.yaml, the lab's)"

# The groups each playbook acts on, with what belongs in them. Ansible runs a play on
# an empty group as "no hosts matched" and ends with status 0, having done nothing.
_ETCD = ("etcd", "the etcd members (with etcd_mode stacked, the control planes)")
REQUIRED_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "vault.yml": (("vault", "the Vault servers"),),
    "storage.yml": (("storage", "the storage servers"),),
    "etcd-backup.yml": (_ETCD,),
    "etcd-schedule.yml": (_ETCD,),
    "etcd-list.yml": (_ETCD,),
    "etcd-verify.yml": (_ETCD,),
    "etcd-restore.yml": (_ETCD,),
}


def load_inventory(c: Any, given: str | None) -> inventory.Inventory:
    """The validated inventory; every problem in it ends the task with status 2."""
    return inventory.load_valid(inventory_path(c, given))


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
    "REQUIRED_GROUPS",
    "load_inventory",
    "missing_groups",
    "play",
    "play_on",
]
