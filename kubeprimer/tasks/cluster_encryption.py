"""cluster.rotate-encryption-key: rotate the key that encrypts Secrets at rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubeprimer.inventory import Inventory
from kubeprimer.output import console
from kubeprimer.tasks._common import INVENTORY_HELP, load_inventory, play_on
from kubeprimer.tasks._task import task


@task(
    help={
        "inventory": INVENTORY_HELP,
        "yes": "do not ask: confirm the rotation on the command line",
        "new": "begin another rotation although the last one finished",
        "kubeconfig": "admin kubeconfig of the cluster, to rewrite the Secrets (default: the "
        "one cluster.up fetched beside the inventory)",
    },
)
def rotate_encryption_key(
    c: Any,
    inventory: str | None = None,
    yes: bool = False,
    new: bool = False,
    kubeconfig: str | None = None,
) -> None:
    """Rotate the key that encrypts Secrets at rest; a re-run resumes an unfinished one."""
    from datetime import UTC, datetime

    from kubeprimer.addons import kube
    from kubeprimer.cluster import encryption as rotation
    from kubeprimer.cluster.kubeconfig import admin_kubeconfig
    from kubeprimer.confirm import confirm
    from kubeprimer.errors import UserError
    from kubeprimer.inventory import require_unlocked
    from kubeprimer.settings import resolve, setting

    out = console()
    inv = load_inventory(c, inventory)
    runs_dir = resolve(setting(c, "runs_dir"))
    chosen = rotation.plan(inv, runs_dir, new, datetime.now(UTC))
    if chosen.rotation is None:
        last = chosen.last
        assert last is not None
        out.print(
            f"The last rotation, to key {last.key}, finished at {last.finished}: nothing to do. "
            f"To rotate again, run {rotation.NEW_HINT}."
        )
        return
    config = Path(kubeconfig).expanduser() if kubeconfig else admin_kubeconfig(inv)
    if not config.is_file():
        raise UserError(
            f"The admin kubeconfig {config} is not there, and the Secrets are rewritten through "
            "the API: run invoke cluster.up (it fetches it), or pass --kubeconfig FILE."
        )
    require_unlocked(inv)
    confirm(
        yes,
        needs="cluster.rotate-encryption-key restarts every API server",
        question=rotation.question(chosen.rotation, chosen.resumed),
    )
    if chosen.resumed:
        done = ", ".join(chosen.rotation.done) or "none"
        out.print(
            f"Resuming the rotation to key {chosen.rotation.key} begun at "
            f"{chosen.rotation.started} (steps done: {done})."
        )
    rotation.run(
        chosen.rotation,
        inv,
        play=lambda extravars: _play(c, inv, extravars),
        connect=lambda: kube.connect(config),
        say=out.print,
    )
    out.print(
        f"Secrets are encrypted at rest with the new key {chosen.rotation.key} only; the old "
        f"key is gone from every control plane. To rotate again later, run {rotation.NEW_HINT}."
    )


def _play(c: Any, inv: Inventory, extravars: dict[str, Any]) -> None:
    from kubeprimer.cluster.encryption import PLAYBOOK

    play_on(c, PLAYBOOK, inv, extravars=extravars)
