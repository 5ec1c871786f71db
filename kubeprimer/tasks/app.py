"""app.*: deploy and remove the demo workload, the acceptance test for a new cluster."""

from __future__ import annotations

from typing import Any

from invoke import Collection

from kubeprimer.tasks._task import task
from kubeprimer.tasks.addons import CLUSTER_HELP, install_help, run_install, run_remove


@task(help=install_help("application to deploy (demo)"))
def deploy(
    c: Any,
    name: str,
    inventory: str | None = None,
    kubeconfig: str | None = None,
    timeout: int = 600,
) -> None:
    """Deploy an application (demo: frontend, backend, MongoDB) and wait until it serves."""
    run_install(c, [name], "app", inventory, kubeconfig, timeout)


@task(help={"name": "application to remove (demo)", **CLUSTER_HELP})
def remove(c: Any, name: str, kubeconfig: str | None = None, inventory: str | None = None) -> None:
    """Remove an application deployed with app.deploy (its volumes are kept)."""
    run_remove(c, name, "app", kubeconfig, inventory)


ns = Collection("app", deploy, remove)
