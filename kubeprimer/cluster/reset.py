"""cluster.reset: which hosts a reset touches, its refusals, and what it says after.

Workers go first and control planes last (playbooks/reset.yml); external etcd members
are wiped only with ``--etcd``, after one last backup. A host that does not answer is
left as it is and named; the playbook finds its work done on the others, so running
the task again finishes the hosts that were down.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubeprimer.cluster.etcd_members import Membership, quorum
from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory

PLAYBOOK = "reset.yml"


@dataclass(frozen=True)
class Reset:
    cluster: str
    inventory: str
    hosts: list[str]
    external_etcd: list[str]
    etcd: bool

    def question(self) -> str:
        wiped = " and its etcd data" if self.etcd and self.external_etcd else ""
        return (
            f"Tear down cluster {self.cluster} ({self.inventory}){wiped} on "
            f"{len(self.hosts)} hosts?"
        )


def plan(inv: Inventory, etcd: bool) -> Reset:
    """The hosts to reset: workers, control planes, and with ``etcd`` the external etcd
    members (an inventory without control planes is refused when it is loaded)."""
    kube = inv.groups.get("kube_node", []) + inv.groups.get("kube_control_plane", [])
    external = inv.settings.get("etcd_mode", "stacked") == "external"
    members = list(inv.groups.get("etcd", [])) if external else []
    touched = kube + members if etcd else kube
    return Reset(
        cluster=str(inv.settings.get("kubeadm_cluster_name", "kubernetes")),
        inventory=str(inv.path),
        hosts=list(dict.fromkeys(touched)),
        external_etcd=members,
        etcd=etcd,
    )


def check_backup(inv: Inventory) -> None:
    """With --etcd the data goes only after a last backup: refuse (exit 2, nothing
    touched) when there is no backup target or a backup setting is bad."""
    from kubeprimer.etcd import settings
    from kubeprimer.upgrade.backup_gate import _unconfigured

    if _unconfigured(inv):
        raise UserError(
            "cluster.reset --etcd takes a last etcd backup before deleting the etcd data, but "
            "backups are not configured: add a host to the inventory group backup (or set "
            "etcd_backup_target: s3, see docs/etcd-backup.md), or run without --etcd."
        )
    settings.check(inv, sets_up=True)


def unanswered(inv: Inventory, hosts: list[str], runs_dir: Path) -> list[str]:
    """The hosts that do not answer over SSH. They are left out of the run: the host key
    check that starts every playbook run would otherwise stop it for all."""
    from kubeprimer.upgrade import remote

    # Looked up at each call, so a test double put in its place is the one used.
    answers = remote.run(inv, hosts, "true", runs_dir=runs_dir)
    return [h for h in hosts if not answers[h].ok]


def backup_skip(found: Membership) -> str | None:
    """Why no last backup is due before the wipe, or None when one is. An earlier
    ``--etcd`` run took it before deleting: no member answering holds data any more, or
    only a member that was down then does while the ones wiped lack the quorum to be
    backed up. With a quorum answering, a backup is always taken."""
    if not found.data_on:
        return "No etcd member holds data any more, so there is no last backup to take."
    wiped = [h for h in found.answered if h not in found.data_on]
    members = found.members or ()
    if wiped and sum(m.healthy for m in members) < quorum(len(members)):
        return (
            f"The etcd data is gone from {', '.join(wiped)} already (an earlier "
            "cluster.reset --etcd took the last backup before deleting it); deleting the rest."
        )
    return None


def etcd_note(reset: Reset) -> str | None:
    """What stays running without --etcd, and how to remove it."""
    if reset.etcd or not reset.external_etcd:
        return None
    return (
        f"External etcd keeps running with its data on {', '.join(reset.external_etcd)}; "
        "to delete it too, run invoke cluster.reset --etcd (it takes a last backup first)."
    )
