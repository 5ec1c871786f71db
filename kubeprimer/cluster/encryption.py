"""cluster.rotate-encryption-key: the steps of a key rotation, in order, each recorded
once done (kubeprimer.cluster.encryption_record), so a re-run resumes where a run
stopped.

The steps on the hosts are one playbook run each (playbooks/rotate_encryption_key.yml,
roles/kubeadm/tasks/encryption-rotate.yml); the rewrite of the Secrets goes through the
API (kubeprimer.cluster.encryption_rewrite).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from invoke import Exit

from kubeprimer.cluster import encryption_record as record
from kubeprimer.cluster import encryption_rewrite
from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory

PLAYBOOK = "rotate_encryption_key.yml"
NEW_HINT = "invoke cluster.rotate-encryption-key --new"
SAYS = {
    "learn": "every API server learns the new key (second: it reads with it, writes with the old)",
    "use": "every API server encrypts with the new key (first; the old one still reads)",
    "rewrite": "every Secret is rewritten under the new key",
    "drop": "the old key is dropped: the new key alone",
}


@dataclass(frozen=True)
class Plan:
    """What a run does: the rotation to continue or begin, or None when the last one
    finished and no new one was asked for."""

    rotation: record.Rotation | None
    resumed: bool
    last: record.Rotation | None


def plan(inv: Inventory, runs_dir: Path, new: bool, now: datetime) -> Plan:
    """Check the inventory and decide, before any host is touched (nothing written yet)."""
    control_planes = len(inv.group("kube_control_plane"))
    if not control_planes:
        raise UserError(
            f"{inv.path} has no hosts in group kube_control_plane, so there is no encryption "
            "key to rotate; list the control planes there."
        )
    encryption_rewrite.targets(inv)
    last = record.load(runs_dir, inv.path)
    if last is not None and not last.finished:
        if new:
            raise UserError(
                f"The rotation to key {last.key} begun at {last.started} is not finished; run "
                "invoke cluster.rotate-encryption-key without --new to finish it first."
            )
        return Plan(last, True, last)
    if last is not None and not new:
        return Plan(None, False, last)
    return Plan(record.fresh(runs_dir, inv.path, control_planes, now), False, last)


def question(rotation: record.Rotation, resumed: bool) -> str:
    what = "Finish" if resumed else "Begin"
    restarts = len([s for s in rotation.pending if s != "rewrite"])
    return (
        f"{what} the rotation of the encryption key to {rotation.key}: the API servers restart "
        f"one control plane at a time, {restarts} times, and every Secret is rewritten."
    )


# One step on the hosts: the playbook with these extra variables.
Play = Callable[[dict[str, Any]], None]
# The Secret rewrite: the client of the cluster's API.
Connect = Callable[[], Any]


def run(
    rotation: record.Rotation,
    inv: Inventory,
    play: Play,
    connect: Connect,
    say: Callable[[str], None],
) -> None:
    """Every step still to do, in order, each recorded before the next begins."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    wanted = encryption_rewrite.targets(inv)
    client = None
    if "rewrite" in rotation.pending:
        # The API answers and serves what is to be rewritten before any host changes.
        client = connect()
        encryption_rewrite.resources(client, wanted)
    rotation.save()
    total = len(rotation.steps)
    for step in rotation.pending:
        number = rotation.steps.index(step) + 1
        say(f"Step {number}/{total}: {SAYS[step]}.")
        try:
            if step == "rewrite":
                encryption_rewrite.rewrite(client, wanted, say)
            else:
                play(
                    {
                        "kubeprimer_encryption_step": step,
                        "kubeprimer_encryption_key_name": rotation.key,
                    }
                )
        except Exit as failed:
            raise Exit(f"{failed.message} {_resume(rotation, step)}", code=failed.code) from None
        except UserError as refused:
            # The API refused the kubeconfig half-way: the same sentence, and how to resume.
            raise UserError(*refused.messages, _resume(rotation, step)) from None
        except (encryption_rewrite.Busy, OSError, HTTPError) as failed:
            raise Exit(f"{failed} {_resume(rotation, step)}", code=1) from None
        except ApiException as failed:
            raise Exit(
                f"The API server answered {failed.status} {failed.reason} while the Secrets were "
                f"rewritten. {_resume(rotation, step)}",
                code=1,
            ) from None
        rotation.mark(step)
    rotation.close(datetime.now(UTC))


def _resume(rotation: record.Rotation, step: str) -> str:
    kept = "" if step == "drop" else " The old key is kept until every Secret is rewritten."
    return (
        f"Run invoke cluster.rotate-encryption-key again to resume at this step "
        f"({step}) with the same new key {rotation.key}.{kept}"
    )
