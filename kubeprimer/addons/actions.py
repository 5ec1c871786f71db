"""The user-facing flows behind addons.* and app.*: resolve, render, apply, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from kubeprimer.addons import access, catalog, config, install, record, remove, render, status
from kubeprimer.addons.catalog import Addon
from kubeprimer.addons.kube import connect, refusals
from kubeprimer.addons.render import context
from kubeprimer.addons.templating import render_text
from kubeprimer.errors import UserError


def prepare(addon: Addon, settings: dict[str, Any]) -> tuple[config.Resolved, list[dict[str, Any]]]:
    """Checked settings and rendered objects: all user mistakes surface here, before any API call."""
    resolved = config.resolve(addon, settings)
    return resolved, render.objects(resolved)


def selected(names: list[str], settings: dict[str, Any], kind: str) -> list[Addon]:
    """``all`` means the inventory's ``addons_enabled``; otherwise the named ones."""
    if names != ["all"]:
        return [catalog.get(n, kind=kind) for n in names]
    enabled = settings.get("addons_enabled") or []
    if not enabled:
        raise UserError("addons_enabled is empty; list the addons 'all' means in group_vars/all.")
    chosen = {n: catalog.get(n, kind=kind) for n in enabled}
    return sorted(chosen.values(), key=lambda a: (a.order, a.name))


def install_many(
    addons: list[Addon],
    settings: dict[str, Any],
    kubeconfig: Path | None,
    options: install.Options,
    console: Console,
) -> None:
    # Every addon is checked and rendered before the first one touches the cluster.
    prepared = [prepare(a, settings) for a in addons]
    client = connect(kubeconfig)
    with refusals():
        # Every write is asked for first, so a refusal leaves the cluster as it was.
        records = [record.body(r.addon.name, r.addon.version, []) for r, _ in prepared]
        access.check(client, [*records, *(o for _, objects in prepared for o in objects)])
        _install_prepared(client, prepared, options, console)


def _install_prepared(
    client: Any,
    prepared: list[tuple[config.Resolved, list[dict[str, Any]]]],
    options: install.Options,
    console: Console,
) -> None:
    for resolved, objects in prepared:
        addon = resolved.addon
        for warning in resolved.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
        console.rule(f"{addon.name} {addon.version}")
        result = install.install(client, resolved, objects, options, console)
        counts = ", ".join(f"{n} {what}" for what, n in sorted(result.counts().items()))
        console.print(f"[green]{addon.name} {addon.version} is installed[/] ({counts}).")
        if addon.summary:
            console.print(render_text(addon.summary, context(resolved)), highlight=False)


def remove_one(addon: Addon, kubeconfig: Path | None, console: Console) -> None:
    client = connect(kubeconfig)
    with refusals():
        done = remove.remove(client, addon.name)
    for ref, action in done:
        console.print(f"  {action:<8} {ref}", highlight=False)
    kept = [str(r) for r, a in done if a == "kept"]
    deleted = sum(1 for _, a in done if a == "deleted")
    console.print(f"[green]{addon.name} is removed[/] ({deleted} objects deleted).")
    if kept:
        console.print(f"[yellow]kept, no longer labelled as {addon.name}'s:[/] {', '.join(kept)}")
    console.print(
        "PersistentVolumeClaims made by StatefulSets are kept: delete them to drop the data."
    )


def listing(kubeconfig: Path | None, console: Console, kind: str) -> None:
    try:
        with refusals():
            installed: dict[str, str] | None = {
                s.addon: s.version for s in status.status(connect(kubeconfig))
            }
        note = ""
    except UserError as error:
        installed, note = None, error.messages[0]
    table = Table("addon", "version", "installed", "description")
    for addon in catalog.all_addons(kind=kind):
        if installed is None:
            there = "?"
        elif addon.name in installed:
            there = "yes" if installed[addon.name] == addon.version else f"{installed[addon.name]}"
        else:
            there = "no"
        table.add_row(addon.name, addon.version, there, addon.description)
    console.print(table)
    if note:
        console.print(f"installed: unknown, {note}")


def show_status(kubeconfig: Path | None, console: Console) -> bool:
    """A table of installed addons; False when some workload is not rolled out."""
    with refusals():
        rows = status.status(connect(kubeconfig))
    table = Table("addon", "version", "objects", "workloads ready", "missing")
    for s in rows:
        table.add_row(
            s.addon,
            s.version,
            str(s.objects),
            f"{s.workloads_ready}/{s.workloads}",
            ", ".join(s.missing),
        )
    console.print(table if rows else "No kubeprimer addon is installed.")
    return all(s.workloads_ready == s.workloads and not s.missing for s in rows)
