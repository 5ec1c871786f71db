"""cluster.reconfigure: apply the inventory's changed settings to a running cluster."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from invoke import Exit

from kubeprimer.errors import UserError
from kubeprimer.output import console, show
from kubeprimer.tasks._common import INVENTORY_HELP, load_inventory, play_on
from kubeprimer.tasks._task import task

if TYPE_CHECKING:
    from rich.console import Console

    from kubeprimer.cluster.reconfigure_read import Reading
    from kubeprimer.cluster.reconfigure_record import Work
    from kubeprimer.inventory import Inventory

NEEDS = "cluster.reconfigure restarts the control-plane components and kubelets one host at a time"
READY_TIMEOUT = 300


@task(
    help={
        "inventory": INVENTORY_HELP,
        "yes": "do not ask: confirm the restarts on the command line",
        "ready_timeout": f"seconds a node may take to be Ready again (default {READY_TIMEOUT})",
    }
)
def reconfigure(
    c: Any, inventory: str | None = None, yes: bool = False, ready_timeout: int = READY_TIMEOUT
) -> None:
    """Apply changed apiserver, controller-manager, scheduler, kubelet and audit settings."""
    from kubeprimer.cluster import reconfigure_record as record
    from kubeprimer.cluster.reconfigure_read import compare
    from kubeprimer.confirm import confirm
    from kubeprimer.inventory import require_unlocked

    if ready_timeout < 1:
        raise UserError(f"--ready-timeout is {ready_timeout}; give a number of seconds, 1 or more.")
    if not yes and not sys.stdin.isatty():
        # Before any host is read: there is nobody to answer the question below.
        confirm(yes, needs=NEEDS, question="")
    inv = load_inventory(c, inventory)
    if not inv.group("kube_control_plane"):
        raise UserError(
            f"{inv.path} has no hosts in group kube_control_plane; list the control planes there."
        )
    require_unlocked(inv)
    out = console()
    owed = record.load(inv)
    reading = compare(c, inv, out)
    if reading.note:
        raise UserError(f"Nothing can be reconfigured: {reading.note}; run invoke cluster.up.")
    from kubeprimer.cluster.reconfigure import work_for

    work = work_for(reading.differences)
    if owed is not None:
        out.print("Finishing the cluster.reconfigure a stopped run began.")
        work = owed.joined(work)
    if work.empty:
        out.print("Nothing to reconfigure: the cluster runs the settings the inventory gives.")
        return
    if reading.differences:
        show(out, _listing(reading.differences))
    confirm(yes, needs=NEEDS, question=_question(work))
    _apply(c, inv, work, reading, ready_timeout, out)


def _listing(differences: list[Any]) -> Any:
    from kubeprimer.cluster.reconfigure_diff import listing

    return listing(differences)


def _question(work: Work) -> str:
    parts = [f"kube-{p} on every control plane" for p in work.phases]
    if work.audit:
        parts.append(f"kube-apiserver for its audit policy on {', '.join(work.audit)}")
    if work.kubelet:
        parts.append("kubelet on every node")
    return f"This restarts {'; '.join(parts)}, one host at a time."


def _apply(
    c: Any, inv: Inventory, work: Work, reading: Reading, ready_timeout: int, out: Console
) -> None:
    from kubeprimer.addons import kube
    from kubeprimer.cluster import reconfigure as steps
    from kubeprimer.cluster import reconfigure_record as record
    from kubeprimer.cluster.drain import wait_ready
    from kubeprimer.cluster.kubeconfig import admin_kubeconfig
    from kubeprimer.cluster.reconfigure_read import PLAYBOOK

    work.token = work.token or record.new_token()
    record.save(inv, work)
    api = kube.connect(admin_kubeconfig(inv))
    control_planes = [h.name for h in inv.group("kube_control_plane")]
    nodes = list(dict.fromkeys([*control_planes, *(h.name for h in inv.group("kube_node"))]))

    def play(step: str, extravars: dict[str, Any], limit: list[str]) -> None:
        values = {"kubeprimer_reconfigure_step": step, **extravars}
        play_on(c, PLAYBOOK, inv, extravars=values, limit=",".join(limit), console=out)

    try:
        changed = steps.update_configmaps(api, reading.running, reading.wanted)
        for name in changed:
            out.print(f"kube-system/{name}: updated to the inventory's settings")
        if work.control_planes:
            steps.control_planes(lambda step, values: play(step, values, control_planes), work)
        if work.kubelet:
            steps.kubelets(
                lambda node: play("node", {"kubeprimer_reconfigure_token": work.token}, [node]),
                lambda node: wait_ready(api, node, ready_timeout),
                nodes,
                out.print,
            )
    except Exit as stopped:
        raise Exit(f"{stopped.message} {_again()}", code=stopped.code) from None
    except kube.NotReady as stopped:
        raise Exit(f"{stopped} {_again()}", code=1) from None
    record.close(inv)
    out.print(
        "[green]The cluster runs the inventory's settings[/]: cluster.plan shows no difference."
    )


def _again() -> str:
    return (
        "Fix the cause and run invoke cluster.reconfigure again: it finishes what this run began."
    )
