"""addons.*: list, render, install, remove and check the cluster addons in addons/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invoke import Collection, Exit

from kubeprimer.errors import raise_if
from kubeprimer.output import JSON_HELP, emit_json
from kubeprimer.output import console as make_console
from kubeprimer.tasks._common import (
    INVENTORY_HELP,
    KUBECONFIG_HELP,
    kubeconfig_path,
    load_inventory,
    missing_groups,
    play_on,
)
from kubeprimer.tasks._task import task

TIMEOUT_HELP = "seconds to wait for each addon's workloads to roll out (default 600)"


def install_help(name: str) -> dict[str, str]:
    """The --help of addons.install and app.deploy, which take the same options."""
    return {
        "name": name,
        "inventory": INVENTORY_HELP,
        "kubeconfig": KUBECONFIG_HELP,
        "timeout": TIMEOUT_HELP,
    }


def console() -> Any:
    return make_console()


# The options of the tasks that only reach the cluster.
CLUSTER_HELP = {"kubeconfig": KUBECONFIG_HELP, "inventory": INVENTORY_HELP}


def run_install(
    c: Any, names: list[str], kind: str, inventory: str | None, kubeconfig: str | None, timeout: int
) -> None:
    """Shared by addons.install and app.deploy: check everything, then apply."""
    from kubeprimer.addons import actions
    from kubeprimer.addons.install import Options
    from kubeprimer.addons.kube import NotReady, Stopped

    settings = load_inventory(c, inventory).settings
    addons = actions.selected(names, settings, kind)
    where = kubeconfig_path(c, kubeconfig, inventory)
    try:
        actions.install_many(addons, settings, where, Options(timeout=timeout), console())
    except (NotReady, Stopped) as error:
        raise Exit(f"error: {error}", code=1) from None


def run_remove(c: Any, name: str, kind: str, kubeconfig: str | None, inventory: str | None) -> None:
    from kubeprimer.addons import actions, catalog

    addon = catalog.get(name, kind=kind)
    actions.remove_one(addon, kubeconfig_path(c, kubeconfig, inventory), console())


@task(name="list", help={**CLUSTER_HELP, "json": JSON_HELP})
def list_(
    c: Any, kubeconfig: str | None = None, inventory: str | None = None, json: bool = False
) -> None:
    """Each addon with its pinned version and whether it is installed."""
    from kubeprimer.addons import actions

    data = actions.listing_data(kubeconfig_path(c, kubeconfig, inventory), "addon")
    if json:
        emit_json(data)
    else:
        actions.listing(data, console())


@task(
    help={
        "name": "addon to render (see addons.list)",
        "out": "folder to write NAME/*.yaml into",
        "inventory": INVENTORY_HELP,
    }
)
def render(c: Any, name: str, out: str, inventory: str | None = None) -> None:
    """Write an addon's exact manifests to a folder, for review or GitOps."""
    from kubeprimer.addons import actions, catalog
    from kubeprimer.addons import render as rendering

    resolved, _ = actions.prepare(catalog.get(name), load_inventory(c, inventory).settings)
    for warning in resolved.warnings:
        print(f"warning: {warning}")
    for path in rendering.write(resolved, Path(out).expanduser()):
        print(path)


@task(help=install_help("addon to install, or 'all' for addons_enabled"))
def install(
    c: Any,
    name: str,
    inventory: str | None = None,
    kubeconfig: str | None = None,
    timeout: int = 600,
) -> None:
    """Install (or update) an addon with server-side apply and wait for it to roll out."""
    run_install(c, [name], "addon", inventory, kubeconfig, timeout)


@task(help={"name": "addon to remove", **CLUSTER_HELP})
def remove(c: Any, name: str, kubeconfig: str | None = None, inventory: str | None = None) -> None:
    """Delete what addons.install created for an addon, and nothing else."""
    run_remove(c, name, "addon", kubeconfig, inventory)


@task(help={**CLUSTER_HELP, "json": JSON_HELP})
def status(
    c: Any, kubeconfig: str | None = None, inventory: str | None = None, json: bool = False
) -> None:
    """Installed addons against their pins, and whether they are rolled out (exit 1 if not)."""
    from kubeprimer.addons import actions

    data = actions.status_data(kubeconfig_path(c, kubeconfig, inventory))
    if json:
        emit_json(data)
    else:
        actions.show_status(data, console())
    if not data["ready"]:
        raise Exit(code=1)


@task(help={"inventory": INVENTORY_HELP})
def storage(c: Any, inventory: str | None = None) -> None:
    """Set up the storage servers (storage_server: nfs or glusterfs) for the storage addons."""
    inv = load_inventory(c, inventory)
    problems = []
    if inv.settings.get("storage_server") not in ("nfs", "glusterfs"):
        problems.append("storage_server is not set; set it to nfs or glusterfs in group_vars/all.")
    raise_if([*problems, *missing_groups("storage.yml", inv)])
    play_on(c, "storage.yml", inv)


ns = Collection("addons", list_, render, install, remove, status, storage)
