"""Both sides of the reconfigure comparison, read for kubeprimer/cluster/reconfigure_diff.py.

- What the inventory renders: playbooks/reconfigure.yml's ``read`` step templates the
  kubeadm role's own init configuration and audit policy into a private folder on the
  controller (the same templates cluster.up uses, with the same variables), and copies
  each control plane's audit policy file there over SSH.
- What the cluster runs: the ``kubeadm-config`` and ``kubelet-config`` ConfigMaps in
  kube-system, read through the admin kubeconfig cluster.up fetched.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kubeprimer.cluster import reconfigure_diff as diff
from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory

if TYPE_CHECKING:
    from rich.console import Console

PLAYBOOK = "reconfigure.yml"
NAMESPACE = "kube-system"
# ConfigMap -> the data key kubeadm keeps the configuration under.
CONFIGMAPS = {"kubeadm-config": "ClusterConfiguration", "kubelet-config": "kubelet"}


@dataclass
class Reading:
    """The differences found; ``note`` says why nothing could be compared (then empty)."""

    differences: list[diff.Difference] = field(default_factory=list)
    note: str = ""
    # Both sides as read, for cluster.reconfigure to write the ConfigMaps from.
    running: dict[str, dict[str, Any]] = field(default_factory=dict)
    wanted: dict[str, Any] = field(default_factory=dict)
    # A cluster.reconfigure stopped before it finished (its record is still there).
    pending: bool = False

    def data(self) -> dict[str, Any]:
        return {
            "differences": diff.data(self.differences),
            "pending": self.pending,
            "note": self.note or None,
        }

    def advice(self) -> str:
        """One sentence for cluster.plan and cluster.up, or "" when nothing is owed."""
        if self.pending:
            return "A cluster.reconfigure stopped before it finished: run invoke cluster.reconfigure to finish it."
        if not self.differences:
            return ""
        fields = sorted({d.field for d in self.differences})
        shown = ", ".join(fields[:4]) + (f" and {len(fields) - 4} more" if len(fields) > 4 else "")
        return (
            f"The cluster runs {len(self.differences)} setting(s) otherwise than the inventory "
            f"({shown}), which cluster.up does not change: invoke cluster.reconfigure applies them."
        )


def _document(text: str, where: str) -> dict[str, Any]:
    try:
        found = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UserError(
            f"{where} is not valid YAML ({getattr(error, 'problem', error)}); fix it there."
        ) from None
    if not isinstance(found, dict):
        raise UserError(f"{where} does not hold a configuration document; fix it there.")
    return found


def configmaps(api: Any) -> dict[str, dict[str, Any]]:
    """ConfigMap name -> the configuration kubeadm keeps in it, as the cluster has it."""
    from kubeprimer.addons.kube import fetch, refusals

    found = {}
    for name, key in CONFIGMAPS.items():
        with refusals():
            live = fetch(api, "v1", "ConfigMap", name, NAMESPACE)
        text = ((live.to_dict() if live is not None else {}).get("data") or {}).get(key)
        if not text:
            raise UserError(
                f"The cluster has no {key} in the ConfigMap {NAMESPACE}/{name}: it was not made "
                "by kubeadm init, or cluster.up did not finish; run invoke cluster.up first."
            )
        found[name] = _document(str(text), f"The {key} in {NAMESPACE}/{name}")
    return found


def rendered(folder: Path, control_planes: list[str]) -> dict[str, Any]:
    """What the read step left in ``folder``: the wanted ClusterConfiguration,
    KubeletConfiguration and audit policy, and each control plane's audit policy file
    (None where the host has none)."""
    kinds = {
        str(d.get("kind")): d
        for d in yaml.safe_load_all((folder / "wanted-init.yaml").read_text())
        if isinstance(d, dict)
    }
    running_audit = {}
    for host in control_planes:
        kept = folder / "running-audit" / f"{host}.yaml"
        running_audit[host] = (
            _document(kept.read_text(), f"The audit policy on {host}") if kept.is_file() else None
        )
    return {
        "cluster": kinds["ClusterConfiguration"],
        "kubelet": kinds["KubeletConfiguration"],
        "audit": _document((folder / "wanted-audit-policy.yaml").read_text(), "audit policy"),
        "running_audit": running_audit,
    }


def differences(
    running: dict[str, dict[str, Any]], wanted: dict[str, Any]
) -> list[diff.Difference]:
    found = diff.cluster_configuration(running["kubeadm-config"], wanted["cluster"])
    found += diff.kubelet_configuration(running["kubelet-config"], wanted["kubelet"])
    for host, policy in wanted["running_audit"].items():
        found += diff.audit_policy(host, policy, wanted["audit"])
    return found


def compare(c: Any, inv: Inventory, out: Console) -> Reading:
    """Render, read and compare; a cluster that is not up yet gives a note, not an error."""
    from kubeprimer.addons import kube
    from kubeprimer.cluster.kubeconfig import admin_kubeconfig
    from kubeprimer.tasks._common import play_on

    control_planes = [h.name for h in inv.group("kube_control_plane")]
    kubeconfig = admin_kubeconfig(inv)
    if not control_planes or not kubeconfig.is_file():
        return Reading(note=f"no admin kubeconfig at {kubeconfig}: the cluster is not up yet")
    api = kube.connect(kubeconfig)
    running = configmaps(api)
    with tempfile.TemporaryDirectory(prefix="kubeprimer-reconfigure-") as folder:
        play_on(
            c,
            PLAYBOOK,
            inv,
            extravars={"kubeprimer_reconfigure_step": "read", "kubeprimer_reconfigure_dir": folder},
            limit=",".join(control_planes),
            console=out,
        )
        wanted = rendered(Path(folder), control_planes)
    return Reading(differences(running, wanted), running=running, wanted=wanted)


def summary(c: Any, inv: Inventory, out: Console) -> Reading:
    """compare() for cluster.plan and cluster.up, which go on whatever it finds: a
    comparison that cannot be made is a note, and an unfinished cluster.reconfigure is
    named as work still to do."""
    from invoke import Exit

    from kubeprimer.cluster import reconfigure_record as record

    try:
        reading = compare(c, inv, out)
        reading.pending = record.load(inv) is not None
    except (UserError, Exit) as error:
        text = str(getattr(error, "message", "") or error).strip().rstrip(".")
        reading = Reading(note=f"the running settings could not be compared ({text})")
    except Exception as error:  # the client's own errors: a server that answered badly
        first = (str(error).strip().splitlines() or [""])[0][:200]
        reading = Reading(note=f"the running settings could not be compared ({first})")
    return reading
