"""cluster.check on Kubernetes nodes that are containers (kube_node_in_container, which
the lab inventory sets); pure functions, no I/O but the role defaults they read.

roles/kubeadm then renders the kubelet and kube-proxy settings a container needs
(``kubeadm_container_*`` in its defaults, sources in docs/lab.md). This check proves a
node can honour them before cluster.up: kubelet's OOM watcher reads /dev/kmsg, kubelet
and containerd create cgroups, and nothing in the inventory undoes the settings kubelet
or kube-proxy would not start without.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

from kubeprimer.inventory import Host, Inventory
from kubeprimer.inventory.rules import CONTROL_PLANE, WORKERS
from kubeprimer.paths import ROLES
from kubeprimer.preflight.checks import Facts, Outcome, fail, note, ok

FLAG = "kube_node_in_container"
KUBEADM_DEFAULTS = ROLES / "kubeadm" / "defaults" / "main.yml"
KUBELET = "kubeadm_container_kubelet_config"
PROXY = "kubeadm_container_proxy_config"
# Without these kubelet or kube-proxy stop at start-up in a container; the other container
# settings only spare pods evictions caused by the host's disk.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    KUBELET: [("failSwapOn",), ("protectKernelDefaults",)],
    PROXY: [("conntrack", "maxPerCore")],
}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", ""}


@functools.cache
def role_defaults() -> dict[str, Any]:
    """roles/kubeadm's defaults: the one place the container settings are written."""
    loaded = yaml.safe_load(KUBEADM_DEFAULTS.read_text())
    return loaded if isinstance(loaded, dict) else {}


def wanted(host: Host) -> bool | None:
    """kube_node_in_container as Ansible's bool filter reads it; None when it is not one."""
    value = host.vars.get(FLAG, False)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE or value is None:
        return False
    return None


def _get(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        tree = tree.get(key) if isinstance(tree, dict) else None
    return tree


def _merged(base: Any, extra: Any) -> Any:
    """Ansible's combine(recursive=True), as the role's templates apply it."""
    if not (isinstance(base, dict) and isinstance(extra, dict)):
        return extra
    return {**base, **{k: _merged(base.get(k), v) if k in base else v for k, v in extra.items()}}


def _leaves(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for key, value in tree.items():
        found += _leaves(value, (*prefix, key)) if isinstance(value, dict) else [(*prefix, key)]
    return found


def settings_in_effect(host: Host) -> tuple[list[str], list[str]]:
    """(settings kubelet or kube-proxy cannot start without that the inventory undoes,
    the other container settings it changes), each as "component field: value"."""
    defaults = role_defaults()
    extra = host.vars.get("kubelet_extra_config") or {}
    effective = {
        KUBELET: _merged(host.vars.get(KUBELET, defaults.get(KUBELET, {})), extra),
        PROXY: host.vars.get(PROXY, defaults.get(PROXY, {})),
    }
    blocking: list[str] = []
    relaxed: list[str] = []
    for name, component in ((KUBELET, "kubelet"), (PROXY, "kube-proxy")):
        for path in _leaves(defaults.get(name, {})):
            need, have = _get(defaults[name], path), _get(effective[name], path)
            if have != need:
                field = ".".join(path)
                text = f"{component} {field} is {have!r}, not {need!r}"
                (blocking if path in REQUIRED[name] else relaxed).append(text)
    return blocking, relaxed


def check(host: Host, facts: Facts, _all: dict[str, Facts], _inv: Inventory) -> Outcome:
    """The ``ctr`` column: a container node can run kubelet with the container settings."""
    container = facts.get("container", "none")
    flag = wanted(host)
    if flag is None:
        return fail(
            f"{FLAG} is {host.vars.get(FLAG)!r}",
            f"Set {FLAG} to true or false for this host.",
        )
    if not flag:
        if container != "none" and host.groups & {CONTROL_PLANE, WORKERS}:
            return note(f"a {container} container without {FLAG}: bare-metal kubelet settings")
        return ok("not a container" if container == "none" else f"{container}, no kubelet")
    if container == "none":
        return fail(
            f"{FLAG} is true but this host is not a container",
            f"Remove {FLAG} for this host: it relaxes kubelet settings only containers need.",
        )
    if not host.groups & {CONTROL_PLANE, WORKERS}:
        return ok(f"{container}, no kubelet")
    details: list[str] = []
    fixes: list[str] = []
    if facts.get("kmsg", "missing") != "ok":
        details.append(f"/dev/kmsg {facts.get('kmsg', 'missing')}")
        fixes.append(
            "Give the node the host's /dev/kmsg, which kubelet reads (lab nodes get it when they "
            "boot: invoke lab.down, then invoke lab.up)."
        )
    read_only = facts.get("cgroup", {}).get("read_only", [])
    if read_only:
        details.append(f"cgroups read-only: {', '.join(read_only)}")
        fixes.append(
            "Mount the node's cgroup controllers read-write, as the lab's node init does "
            "(lab nodes: invoke lab.down, then invoke lab.up)."
        )
    blocking, relaxed = settings_in_effect(host)
    if blocking:
        details += blocking
        fixes.append(
            f"Remove these fields from kubelet_extra_config or {KUBELET}/{PROXY}: kubelet "
            "and kube-proxy do not start in a container without the values docs/lab.md names."
        )
    if details:
        return fail("; ".join(details), " ".join(fixes))
    if relaxed:
        return note(f"{container}; changed by the inventory: {'; '.join(relaxed)}")
    return ok(f"{container}: /dev/kmsg, writable cgroups, container settings")
