"""cluster.reconfigure: bring a running cluster to the inventory's settings, the way
kubeadm's "Reconfiguring a kubeadm cluster" does it by hand:

1. the ``kubeadm-config`` ConfigMap's ClusterConfiguration and the ``kubelet-config``
   ConfigMap's KubeletConfiguration take the inventory's settings (the fields kubeadm
   filled in itself stay as they are);
2. one control plane at a time, ``kubeadm init phase control-plane <component>`` for the
   components whose flags changed, the audit policy file written again, and
   kube-apiserver ready again before the next (playbooks/reconfigure.yml);
3. one node at a time, ``kubeadm upgrade node phase kubelet-config``, kubelet restarted
   with its configuration at 0600, and the node Ready again before the next.

The work is recorded before step 1 (kubeprimer/cluster/reconfigure_record.py), so a run
stopped anywhere is finished by the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from kubeprimer.cluster import reconfigure_diff as diff
from kubeprimer.cluster.reconfigure_read import CONFIGMAPS, NAMESPACE
from kubeprimer.cluster.reconfigure_record import Work

Play = Callable[[str, dict[str, Any]], None]


def work_for(differences: list[diff.Difference]) -> Work:
    return Work(
        phases=diff.phases(differences),
        audit=diff.audit_hosts(differences),
        kubelet=diff.kubelet_changed(differences),
    )


def _as_version(section: dict[str, Any], api_version: str) -> dict[str, Any]:
    """A v1beta4 section as the running ClusterConfiguration's version writes it
    (v1beta3 kept extraArgs as a map)."""
    if not api_version.endswith("/v1beta3"):
        return section
    args = {str(a["name"]): str(a["value"]) for a in section.get("extraArgs") or []}
    return {**section, "extraArgs": args}


def cluster_configuration(running: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The running ClusterConfiguration with the inventory's flags and volumes."""
    merged = dict(running)
    version = str(running.get("apiVersion") or "")
    for section in diff.SECTIONS:
        have = dict(running.get(section) or {})
        want = wanted.get(section) or {}
        for key in ("extraArgs", "extraVolumes"):
            if want.get(key):
                have[key] = want[key]
            else:
                have.pop(key, None)
        merged[section] = _as_version(have, version)
    return merged


def merged(running: Any, wanted: Any) -> Any:
    """``wanted`` over ``running``, recursively through maps (Ansible's combine recursive)."""
    if not (isinstance(running, dict) and isinstance(wanted, dict)):
        return wanted
    out = dict(running)
    for key, value in wanted.items():
        out[key] = merged(running.get(key), value)
    return out


def update_configmaps(
    api: Any, running: dict[str, dict[str, Any]], wanted: dict[str, Any]
) -> list[str]:
    """Write the inventory's settings into the two ConfigMaps; the names of those changed."""
    from kubeprimer.addons.kube import refusals, resource

    documents = {
        "kubeadm-config": cluster_configuration(running["kubeadm-config"], wanted["cluster"]),
        "kubelet-config": merged(running["kubelet-config"], wanted["kubelet"]),
    }
    changed = []
    for name, document in documents.items():
        if document == running[name]:
            continue
        text = yaml.safe_dump(document, default_flow_style=False, sort_keys=True)
        body = {"data": {CONFIGMAPS[name]: text}}
        with refusals():
            api.patch(
                resource(api, "v1", "ConfigMap"),
                name=name,
                namespace=NAMESPACE,
                body=body,
                content_type="application/merge-patch+json",
            )
        changed.append(name)
    return changed


def control_planes(play: Play, work: Work) -> None:
    """Step 2, every control plane in one run that goes one host at a time."""
    play(
        "control-plane",
        {"kubeprimer_reconfigure_phases": work.phases, "kubeprimer_reconfigure_token": work.token},
    )


def kubelets(
    play_node: Callable[[str], None],
    wait_ready: Callable[[str], None],
    nodes: list[str],
    say: Callable[[str], None],
) -> None:
    """Step 3: each node's kubelet on the new configuration and Ready before the next."""
    for number, node in enumerate(nodes, start=1):
        say(f"{node}: kubelet takes the kubelet-config ConfigMap ({number} of {len(nodes)})")
        play_node(node)
        wait_ready(node)
