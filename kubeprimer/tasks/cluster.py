"""cluster.*: check hosts before touching them, preview a run, bring a cluster up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from invoke import Collection, Exit

from kubeprimer.ansible import EXIT_UNREACHABLE
from kubeprimer.output import JSON_HELP, console, emit_json, show
from kubeprimer.settings import resolve, setting
from kubeprimer.tasks import cluster_nodes as nodes
from kubeprimer.tasks._common import INVENTORY_HELP, load_inventory, play_on
from kubeprimer.tasks._task import task
from kubeprimer.tasks.cluster_certs import certs
from kubeprimer.tasks.cluster_cis import cis
from kubeprimer.tasks.cluster_encryption import rotate_encryption_key
from kubeprimer.tasks.cluster_reconfigure import reconfigure
from kubeprimer.tasks.cluster_reset import reset
from kubeprimer.tasks.cluster_status import status
from kubeprimer.tasks.cluster_upgrade import upgrade

if TYPE_CHECKING:
    from kubeprimer.inventory.model import Inventory


@task(
    help={
        "inventory": INVENTORY_HELP,
        "offline": "Validate the inventory only; connect to no host",
        "timeout": "Seconds to wait for each host's SSH connection (default 10)",
        "json": JSON_HELP,
    }
)
def check(
    c: Any,
    inventory: str | None = None,
    offline: bool = False,
    timeout: int = 10,
    json: bool = False,
) -> None:
    """Validate the inventory, then check every host over SSH in parallel."""
    from kubeprimer.ansible import hostkeys
    from kubeprimer.inventory import require_unlocked
    from kubeprimer.preflight import checks, remote, report

    out = console(as_json=json)
    inv = load_inventory(c, inventory)
    hostkeys.entry_names(inv.path)  # an inventory that turns host key checks off is bad input
    require_unlocked(inv)
    out.print(f"Inventory {inv.path}: {len(inv.hosts)} hosts, no problems found.")
    if offline:
        if json:
            hosts: list[dict[str, Any]] = [
                {"host": h, "ssh": None, "error": None, "checks": {}} for h in sorted(inv.hosts)
            ]
            emit_json({"inventory": str(inv.path), "passed": True, "hosts": hosts, "refused": []})
        return
    found = remote.gather(inv, timeout=timeout, runs_dir=resolve(setting(c, "runs_dir")))
    for line in found.recorded:
        out.print(line)
    outcomes = checks.evaluate(inv, found.facts)
    if json:
        emit_json(
            {"inventory": str(inv.path), **report.data(outcomes, found.errors, found.refused)}
        )
    else:
        report.render(out, outcomes, found.errors, found.refused)
    where = "listed in the JSON" if json else "marked ✗ above"
    if found.unreachable:
        raise Exit(
            f"Preflight could not reach every host: fix the items {where} and run cluster.check again.",
            code=EXIT_UNREACHABLE,
        )
    if not report.passed(outcomes, found.errors):
        raise Exit(f"Preflight failed: fix the items {where} and run cluster.check again.", code=1)


@task(help={"inventory": INVENTORY_HELP, "json": JSON_HELP})
def plan(c: Any, inventory: str | None = None, json: bool = False) -> None:
    """Preview cluster.up in check/diff mode, and the settings only cluster.reconfigure applies."""
    from kubeprimer.cluster import reconfigure_diff, reconfigure_read

    inv = load_inventory(c, inventory)
    out = console(as_json=json)
    extravars = converge_vars(c, inv, full=False)
    result = play_on(c, "cluster.yml", inv, check=True, diff=True, extravars=extravars, console=out)
    reading = reconfigure_read.summary(c, inv, out)
    if json:
        emit_json(
            {
                "inventory": str(inv.path),
                "changed": {host: stats.get("changed", 0) for host, stats in result.stats.items()},
                "unpredictable": result.unpredictable,
                "reconfigure": reading.data(),
            }
        )
        return
    if result.unpredictable:
        out.print(
            "[yellow]Check mode cannot predict these steps; they run for real only in cluster.up:[/]"
        )
        for name in result.unpredictable:
            out.print(f"  - {name}")
        out.print(
            "Steps that consume their results (init, joins, waits) are shown as they would run from the current state."
        )
    if reading.differences:
        show(out, reconfigure_diff.listing(reading.differences))
    for sentence in (reading.advice(), reading.note and f"Reconfigure: {reading.note}."):
        if sentence:
            out.print(sentence)


@task(
    help={
        "inventory": INVENTORY_HELP,
        "full": "Run every stage, even those whose recorded state still holds on every host",
        "limit": "Join only these new hosts (HOST[,HOST...]), touching only them and what "
        "must learn about them",
    }
)
def up(c: Any, inventory: str | None = None, full: bool = False, limit: str | None = None) -> None:
    """Take the inventory's hosts to a working Kubernetes cluster; safe to run again."""
    from rich.console import Console

    from kubeprimer.cluster.kubeconfig import admin_kubeconfig
    from kubeprimer.upgrade import guard

    inv = load_inventory(c, inventory)
    joining = nodes.before_up(inv, limit)
    # Versions that need a rolling upgrade are refused here, before any host is touched.
    guard.before_up(inv, runs_dir=resolve(setting(c, "runs_dir")))
    extravars = converge_vars(c, inv, full)
    play_on(c, "cluster.yml", inv, extravars=extravars, limit=joining.limit if joining else None)
    nodes.after_up(inv, joining)
    kubeconfig = admin_kubeconfig(inv)
    Console(highlight=False).print(
        f"Cluster is up. Admin kubeconfig (keep it private): {kubeconfig}\n"
        f"  kubectl --kubeconfig {kubeconfig} get nodes"
    )
    _reconfigure_notice(c, inv)


def _reconfigure_notice(c: Any, inv: Inventory) -> None:
    """cluster.up leaves a running cluster's settings alone: say when they differ from the
    inventory, until cluster.reconfigure has applied them."""
    from kubeprimer.cluster.reconfigure_read import summary

    out = console()
    advice = summary(c, inv, out).advice()
    if advice:
        out.print(f"[yellow]{advice}[/] invoke cluster.plan lists them.")


def converge_vars(c: Any, inv: Inventory, full: bool) -> dict[str, Any]:
    """What cluster.yml needs to skip stages whose recorded state still holds
    (the probe plays of playbooks/cluster.yml); with ``full`` every stage runs and is
    recorded."""
    from kubeprimer.ansible.fingerprint import fingerprint

    return {
        "kubeprimer_fingerprint": fingerprint(inv.path),
        "kubeprimer_controller_converge_dir": str(resolve(setting(c, "runs_dir")) / "converged"),
        "kubeprimer_converge_full": full,
    }


ns = Collection(
    "cluster",
    check,
    plan,
    up,
    certs,
    cis,
    upgrade,
    nodes.remove_node,
    status,
    reset,
    rotate_encryption_key,
    reconfigure,
)
