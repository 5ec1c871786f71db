"""The user-facing flows behind addons.* and app.*: resolve, render, apply, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from kubeprimer.addons import access, catalog, config, install, record, remove, render, status
from kubeprimer.addons.catalog import Addon
from kubeprimer.addons.kube import connect, refusals
from kubeprimer.addons.render import context
from kubeprimer.addons.templating import render_text
from kubeprimer.errors import UserError
from kubeprimer.output import Listing, show


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


def installed_versions(kubeconfig: Path | None) -> tuple[dict[str, str] | None, str]:
    """Installed addon versions, or None and why the cluster could not say."""
    try:
        with refusals():
            return {s.addon: s.version for s in status.status(connect(kubeconfig))}, ""
    except UserError as error:
        return None, error.messages[0]


def listing_data(kubeconfig: Path | None, kind: str) -> dict[str, Any]:
    """Each addon with its pinned version and the installed one (the shape of --json)."""
    installed, note = installed_versions(kubeconfig)
    return {
        "addons": [
            {
                "name": addon.name,
                "version": addon.version,
                "installed": None if installed is None else addon.name in installed,
                "installed_version": (installed or {}).get(addon.name),
                "description": addon.description,
            }
            for addon in catalog.all_addons(kind=kind)
        ],
        "cluster_error": note or None,
    }


def listing(data: dict[str, Any], console: Console) -> None:
    table = Listing(("addon", "version", "installed", "description"))
    for row in data["addons"]:
        if row["installed"] is None:
            there = "?"
        elif row["installed"]:
            same = row["installed_version"] == row["version"]
            there = "yes" if same else str(row["installed_version"])
        else:
            there = "no"
        table.add(row["name"], row["version"], there, row["description"])
    show(console, table)
    if data["cluster_error"]:
        console.print(f"installed: unknown, {data['cluster_error']}")


def status_data(kubeconfig: Path | None) -> dict[str, Any]:
    """Installed addons and their rollout (the shape of --json); ready is False when
    some workload is not rolled out."""
    with refusals():
        rows = status.status(connect(kubeconfig))
    return {
        "addons": [
            {
                "name": s.addon,
                "version": s.version,
                "objects": s.objects,
                "workloads_ready": s.workloads_ready,
                "workloads": s.workloads,
                "missing": list(s.missing),
                "pinned": s.pinned,
                "update": s.update,
            }
            for s in rows
        ],
        "ready": all(s.workloads_ready == s.workloads and not s.missing for s in rows),
    }


def show_status(data: dict[str, Any], console: Console) -> None:
    """A table of installed addons."""
    if not data["addons"]:
        console.print("No kubeprimer addon is installed.")
        return
    table = Listing(
        ("addon", "installed", "pinned", "objects", "workloads ready", "missing"),
        right=("objects",),
    )
    for s in data["addons"]:
        table.add(
            s["name"],
            s["version"],
            pinned_cell(s["pinned"], s["update"]),
            str(s["objects"]),
            f"{s['workloads_ready']}/{s['workloads']}",
            ", ".join(s["missing"]),
        )
    show(console, table)
    behind = [s for s in data["addons"] if s["update"]]
    if behind:
        names = ", ".join(s["name"] for s in behind)
        console.print(
            f"Not at their pinned version: {names}; invoke addons.install NAME "
            "(app.deploy NAME for an app) installs the pin."
        )


def pinned_cell(pinned: str | None, update: bool) -> Text:
    """The pin, flagged (and yellow on a terminal) when the installed version differs."""
    if pinned is None:
        return Text("")
    return Text(f"{pinned} (update)", style="yellow") if update else Text(pinned)
