"""cluster.*: check hosts before touching them, preview a run, bring a cluster up."""

from __future__ import annotations

from typing import Any

from invoke import Collection, Exit

from kubeprimer.tasks._common import INVENTORY_HELP, load_inventory, play
from kubeprimer.tasks._task import task


@task(
    help={
        "inventory": INVENTORY_HELP,
        "offline": "Validate the inventory only; connect to no host",
        "timeout": "Seconds to wait for each host's SSH connection (default 10)",
    }
)
def check(c: Any, inventory: str | None = None, offline: bool = False, timeout: int = 10) -> None:
    """Validate the inventory, then check every host over SSH in parallel."""
    from rich.console import Console

    from kubeprimer.preflight import checks, remote, report

    console = Console(highlight=False)
    inv = load_inventory(c, inventory)
    console.print(f"Inventory {inv.path}: {len(inv.hosts)} hosts, no problems found.")
    if offline:
        return
    facts, unreachable = remote.gather(inv, timeout=timeout)
    outcomes = checks.evaluate(inv, facts)
    report.render(console, outcomes, unreachable)
    if not report.passed(outcomes, unreachable):
        raise Exit(
            "Preflight failed: fix the items marked ✗ above and run cluster.check again.", code=1
        )


@task(help={"inventory": INVENTORY_HELP})
def plan(c: Any, inventory: str | None = None) -> None:
    """Preview cluster.up in check/diff mode, naming steps check mode cannot predict."""
    from rich.console import Console

    result = play(c, "cluster.yml", inventory, check=True, diff=True)
    console = Console(highlight=False)
    if result.unpredictable:
        console.print(
            "[yellow]Check mode cannot predict these steps; they run for real only in cluster.up:[/]"
        )
        for name in result.unpredictable:
            console.print(f"  - {name}")
        console.print(
            "Steps that consume their results (init, joins, waits) are shown as they would run from the current state."
        )


@task(help={"inventory": INVENTORY_HELP})
def up(c: Any, inventory: str | None = None) -> None:
    """Take the inventory's hosts to a working Kubernetes cluster; safe to run again."""
    from rich.console import Console

    from kubeprimer.cluster.kubeconfig import admin_kubeconfig

    play(c, "cluster.yml", inventory)
    kubeconfig = admin_kubeconfig(load_inventory(c, inventory))
    Console(highlight=False).print(
        f"Cluster is up. Admin kubeconfig (keep it private): {kubeconfig}\n"
        f"  kubectl --kubeconfig {kubeconfig} get nodes"
    )


ns = Collection("cluster", check, plan, up)
