"""cluster.status: one view of the cluster's health, from the API server and every host."""

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
        "timeout": "seconds to wait for each host's SSH connection and for the API server "
        "(default 10)",
        "json": JSON_HELP,
    }
)
def status(c: Any, inventory: str | None = None, timeout: int = 10, json: bool = False) -> None:
    """Nodes, control plane, etcd, virtual IP, backups, certificates and addons (exit 1 if unhealthy)."""
    from kubeprimer.cluster import certs, status_api, status_backup, status_hosts
    from kubeprimer.cluster import status as view
    from kubeprimer.cluster.kubeconfig import admin_kubeconfig

    if timeout <= 0:
        raise UserError(f"--timeout is {timeout}; give the seconds to wait, 1 or more.")
    inv = load_inventory(c, inventory)
    out = console(as_json=json)
    kubeconfig = admin_kubeconfig(inv)
    api_round = status_api.Background(lambda: status_api.read(kubeconfig), timeout)
    found = status_hosts.read(inv, resolve(setting(c, "runs_dir")), timeout)
    for line in (*found.recorded, *found.refused):
        out.print(line)
    now = certs.now_utc()
    hosts = status_hosts.assemble(inv, found)
    result = view.Status(
        inv,
        api_round.result(),
        hosts,
        status_backup.judge(inv, hosts.backups),
        certs.collect(inv, found.facts, found.errors, now, view.WARN_DAYS),
    )
    problems = view.problems(result, now)
    if json:
        emit_json(view.data(result, now))
    else:
        for listing in view.listings(result, now):
            show(out, listing)
        for sentence in problems:
            out.print(f"[red]✗[/] {sentence}")
    if result.unreachable:
        raise Exit(
            f"Some hosts could not be reached ({', '.join(result.unreachable)}): the view is "
            "incomplete; fix their SSH access or bring them back, then run cluster.status again.",
            code=EXIT_UNREACHABLE,
        )
    if problems:
        raise Exit(f"The cluster is unhealthy: {len(problems)} problem(s) listed above.", code=1)
    out.print("[green]The cluster is healthy.[/]")
