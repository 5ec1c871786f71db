"""What cluster.reconfigure would change: the settings the inventory renders against the
settings the cluster runs, compared as YAML data, field by field (never as text).

- ClusterConfiguration (the ``kubeadm-config`` ConfigMap): the ``extraArgs`` and
  ``extraVolumes`` of ``apiServer``, ``controllerManager`` and ``scheduler``, which the
  inventory owns whole: a flag the inventory no longer sets is a difference too. Other
  fields (the version, the networks, the endpoint) are not reconfigured here.
- KubeletConfiguration (the ``kubelet-config`` ConfigMap): every field the inventory
  renders. kubeadm uploads the configuration with its own defaults filled in
  (clusterDNS, staticPodPath...), so a field only the cluster has is not a difference.
- The audit policy file on each control plane, as a whole document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubeprimer.output import Listing

# ClusterConfiguration section -> the static pod it configures.
SECTIONS = {
    "apiServer": "kube-apiserver",
    "controllerManager": "kube-controller-manager",
    "scheduler": "kube-scheduler",
}
# The static pod -> its name for `kubeadm init phase control-plane`, in kubeadm's order.
PHASES = {
    "kube-apiserver": "apiserver",
    "kube-controller-manager": "controller-manager",
    "kube-scheduler": "scheduler",
}
KUBELET = "kubelet"
AUDIT_FIELD = "audit policy"


@dataclass(frozen=True)
class Difference:
    """One field the cluster runs otherwise than the inventory says; None is "not set"."""

    component: str
    field: str
    running: Any
    wanted: Any
    # The control plane whose file differs; "" for a cluster-wide ConfigMap field.
    host: str = ""


def _args(section: Mapping[str, Any]) -> dict[str, Any]:
    """extraArgs as name -> value, from kubeadm v1beta4's list of name/value pairs or
    v1beta3's map; a flag given more than once keeps its values as a list."""
    given = section.get("extraArgs") or {}
    if isinstance(given, Mapping):
        return {str(k): str(v) for k, v in given.items()}
    found: dict[str, Any] = {}
    for pair in given:
        name, value = str(pair.get("name")), str(pair.get("value", ""))
        if name in found:
            before = found[name]
            found[name] = [*(before if isinstance(before, list) else [before]), value]
        else:
            found[name] = value
    return found


def _volumes(section: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(v.get("name")): {k: x for k, x in v.items() if k != "name"}
        for v in section.get("extraVolumes") or []
    }


def _compare_whole(
    component: str, prefix: str, running: Mapping[str, Any], wanted: Mapping[str, Any]
) -> list[Difference]:
    return [
        Difference(component, f"{prefix}.{name}", running.get(name), wanted.get(name))
        for name in sorted(set(running) | set(wanted))
        if running.get(name) != wanted.get(name)
    ]


def cluster_configuration(
    running: Mapping[str, Any], wanted: Mapping[str, Any]
) -> list[Difference]:
    found: list[Difference] = []
    for section, component in SECTIONS.items():
        have, want = running.get(section) or {}, wanted.get(section) or {}
        found += _compare_whole(component, f"{section}.extraArgs", _args(have), _args(want))
        found += _compare_whole(
            component, f"{section}.extraVolumes", _volumes(have), _volumes(want)
        )
    return found


def kubelet_configuration(
    running: Mapping[str, Any], wanted: Mapping[str, Any], prefix: str = KUBELET
) -> list[Difference]:
    """Every field ``wanted`` sets, recursively through maps; lists compare whole."""
    found: list[Difference] = []
    for key in sorted(wanted):
        want, have = wanted[key], running.get(key)
        if isinstance(want, Mapping) and isinstance(have, Mapping):
            found += kubelet_configuration(have, want, f"{prefix}.{key}")
        elif have != want:
            found.append(Difference(KUBELET, f"{prefix}.{key}", have, want))
    return found


def audit_policy(host: str, running: Any, wanted: Any) -> list[Difference]:
    """The policy file of ``host`` (None: there is none) against the rendered one."""
    if running == wanted:
        return []
    return [Difference(SECTIONS["apiServer"], AUDIT_FIELD, running, wanted, host)]


def phases(differences: Iterable[Difference]) -> list[str]:
    """The `kubeadm init phase control-plane` components whose flags or volumes changed."""
    changed = {d.component for d in differences if d.field != AUDIT_FIELD}
    return [phase for component, phase in PHASES.items() if component in changed]


def kubelet_changed(differences: Iterable[Difference]) -> bool:
    return any(d.component == KUBELET for d in differences)


def audit_hosts(differences: Iterable[Difference]) -> list[str]:
    return sorted({d.host for d in differences if d.field == AUDIT_FIELD})


def data(differences: Iterable[Difference]) -> list[dict[str, Any]]:
    return [
        {
            "component": d.component,
            "field": d.field,
            "host": d.host or None,
            "running": d.running,
            "wanted": d.wanted,
        }
        for d in differences
    ]


def cell(value: Any, width: int = 60) -> str:
    """A value for a table cell: "(not set)", the scalar, or compact JSON cut to ``width``."""
    if value is None:
        return "(not set)"
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict) and value.get("kind") == "Policy":
        rules = value.get("rules") or []
        text = f"{len(rules)} rules, sha {_digest(value)}"
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 1] + "…"


def _digest(value: Any) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def listing(differences: Iterable[Difference]) -> Listing:
    table = Listing(
        columns=("component", "field", "host", "running", "wanted"),
        title="Settings the cluster runs otherwise than the inventory (cluster.reconfigure applies them)",
    )
    for d in differences:
        table.add(d.component, d.field, d.host or "all", cell(d.running), cell(d.wanted))
    return table
