"""cluster.reset: tear the cluster down on every host of the inventory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from invoke import Exit

from kubeprimer.output import console
from kubeprimer.tasks._common import INVENTORY_HELP, load_inventory, play_on
from kubeprimer.tasks._task import task

if TYPE_CHECKING:
    from rich.console import Console

    from kubeprimer.ansible import RunResult
    from kubeprimer.cluster.reset import Reset
    from kubeprimer.inventory import Inventory


@task(
    help={
        "inventory": INVENTORY_HELP,
        "yes": "do not ask: confirm the teardown on the command line",
        "etcd": "also delete the external etcd members' data, after one last backup",
    }
)
def reset(c: Any, inventory: str | None = None, yes: bool = False, etcd: bool = False) -> None:
    """Tear the cluster down on every host (kubeadm reset, kubelet, CNI, VIP); --etcd too."""
    from kubeprimer.cluster import reset as steps
    from kubeprimer.confirm import confirm
    from kubeprimer.inventory import require_unlocked
    from kubeprimer.settings import resolve, setting

    inv = load_inventory(c, inventory)
    plan = steps.plan(inv, etcd)
    if etcd and plan.external_etcd:
        steps.check_backup(inv)
    require_unlocked(inv)
    confirm(
        yes, needs="cluster.reset tears the cluster down on every host", question=plan.question()
    )
    out = console()
    down = steps.unanswered(inv, plan.hosts, resolve(setting(c, "runs_dir")))
    if etcd and plan.external_etcd:
        _last_backup(c, inv, inventory, out, [h for h in plan.external_etcd if h not in down])
    live = [h for h in plan.hosts if h not in down]
    result = _run(c, inv, plan, live) if live else None
    _report(out, inv, plan, result, down)


def _last_backup(
    c: Any, inv: Inventory, inventory: str | None, out: Console, members: list[str]
) -> None:
    """A backup now, proven by a restore drill, before the etcd data goes; none when an
    earlier run took it and the data is gone (so a second run finds nothing to do)."""
    from kubeprimer.cluster import etcd_members
    from kubeprimer.cluster.reset import backup_skip
    from kubeprimer.upgrade.backup_gate import proven

    skip = backup_skip(etcd_members.read(inv, members)[0])
    if skip:
        out.print(skip)
        return
    out.print("Taking a last etcd backup before deleting the etcd data.")
    try:
        backup, drilled = proven(c, inventory, out, "nothing was reset")
    except Exit as stopped:
        # A failed backup playbook names only itself: say that the data is all still there.
        said = str(stopped.message)
        if "nothing was reset" not in said:
            said = f"The last etcd backup did not complete, so nothing was reset: {said}"
        raise Exit(said, code=stopped.code) from None
    out.print(
        f"Last backup {backup} stored and restores ({drilled.get('keys')} keys at revision "
        f"{drilled.get('revision')}); etcd.restore brings it back."
    )


def _run(c: Any, inv: Inventory, plan: Reset, live: list[str]) -> RunResult:
    from kubeprimer.cluster.reset import PLAYBOOK

    return play_on(
        c,
        PLAYBOOK,
        inv,
        limit=",".join(live),
        extravars={"kubeprimer_reset_etcd": plan.etcd},
    )


def _report(
    out: Console, inv: Inventory, plan: Reset, result: RunResult | None, down: list[str]
) -> None:
    from kubeprimer.cluster.certs_catalog import pki_dir
    from kubeprimer.cluster.kubeconfig import admin_kubeconfig
    from kubeprimer.cluster.reset import etcd_note

    if result is not None and result.changed == 0 and not down:
        out.print(f"Nothing to reset: cluster {plan.cluster} is torn down on every host already.")
    else:
        out.print(f"Cluster {plan.cluster} is torn down on {len(plan.hosts) - len(down)} hosts.")
    note = etcd_note(plan)
    if note:
        out.print(note)
    if down:
        raise Exit(
            f"These hosts did not answer and were not reset: {', '.join(down)}; run "
            "invoke cluster.reset again once they are up to finish them.",
            code=3,
        )
    kubeconfig = admin_kubeconfig(inv)
    if kubeconfig.is_file():
        kubeconfig.unlink()
        out.print(f"Removed the admin kubeconfig {kubeconfig}.")
    out.print(
        f"The cluster CA in {pki_dir(inv)} stays, so cluster.up makes a cluster with the same CA; "
        "delete that folder for a new one."
    )
