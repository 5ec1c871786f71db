"""The cluster.up guard: on a cluster that runs, cluster.up never changes what needs a
rolling upgrade (Kubernetes, containerd, external etcd, the pod network's release).

When the inventory asks for another version of one of them, cluster.up stops before
touching any host with one sentence per difference, naming the component, the running
and the wanted version, and invoke cluster.upgrade. A host that is not a node yet may
join at the inventory's version when the version skew policy allows it (rules.joining).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.console import Console

from kubeprimer.errors import UserError, raise_if
from kubeprimer.inventory import Inventory
from kubeprimer.upgrade import rules, wanted
from kubeprimer.upgrade.running import Running

_UPGRADE = "cluster.up does not upgrade a running cluster: run invoke cluster.upgrade"


def same(running: str, wanted_version: str) -> bool:
    """The same release, however each side writes it ("v1.37.1", "containerd://1.7.24~ds1")."""
    have, want = rules.parse(running), rules.parse(wanted_version)
    if have is None or want is None:
        return running.lstrip("v") == wanted_version.lstrip("v")
    return have == want


def differences(inv: Inventory, running: Running) -> list[str]:
    """One sentence per component the inventory would change on the running cluster."""
    checks = (_kubernetes, _containerd, _etcd, _cni)
    return [sentence for one in checks for sentence in one(inv, running)]


def check(inv: Inventory, running: Running) -> None:
    """Refuse (UserError, exit 2) what cluster.up must not change; nothing runs yet: pass."""
    if running.nothing:
        return
    raise_if(differences(inv, running))


def _names(hosts: Iterable[str]) -> str:
    shown = sorted(hosts)
    more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
    return ", ".join(shown[:3]) + more


def _grouped(found: dict[tuple[str, str, str], list[str]], component: str) -> Iterator[str]:
    for (have, want, setting), hosts in found.items():
        yield (
            f"{component} on {_names(hosts)} runs {have} but the inventory asks for {want} "
            f"({setting}); {_UPGRADE}, or {_undo(setting, have)}."
        )


def _undo(setting: str, have: str) -> str:
    """How to ask for what runs instead: the setting written the way the inventory takes it."""
    if setting.startswith("containerd_") and setting != "containerd_version":
        # A distribution package runs as "1.7.24~ds1"; its full version is apt's to say.
        return (
            f"set containerd_package_version to the installed package of containerd {have} "
            "(apt-cache policy containerd)"
        )
    return f"set {setting} back to {have.lstrip('v') if setting == 'kube_version' else have}"


def _kubernetes(inv: Inventory, running: Running) -> Iterator[str]:
    if running.apiserver is None:
        return
    first = next(iter(inv.group("kube_control_plane")), None)
    want = wanted.kubernetes(inv, first)
    if want is not None and not same(running.apiserver, want):
        yield (
            f"Kubernetes runs {running.apiserver} but the inventory asks for {want} "
            f"(kube_version); {_UPGRADE}, or {_undo('kube_version', running.apiserver)}."
        )
        return  # every kubelet follows the control plane in the upgrade
    found: dict[tuple[str, str, str], list[str]] = {}
    for host in [*inv.group("kube_control_plane"), *inv.group("kube_node")]:
        node_want = wanted.kubernetes(inv, host)
        if node_want is None:
            continue
        node = running.nodes.get(host.name)
        if node is None:
            try:
                rules.joining(host.name, node_want, running.apiserver)
            except UserError as error:
                yield from error.messages
            continue
        if node.kubelet and not same(node.kubelet, node_want):
            found.setdefault((node.kubelet, node_want, "kube_version"), []).append(host.name)
    yield from _grouped(found, "The kubelet")


def _containerd(inv: Inventory, running: Running) -> Iterator[str]:
    found: dict[tuple[str, str, str], list[str]] = {}
    for host in [*inv.group("kube_control_plane"), *inv.group("kube_node")]:
        node = running.nodes.get(host.name)
        if node is None or node.containerd is None:
            continue  # a host that joins gets the inventory's containerd
        want, setting = wanted.containerd(inv, host, node.os_image)
        if want is not None and not same(node.containerd, want):
            found.setdefault((node.containerd, want, setting), []).append(host.name)
    yield from _grouped(found, "containerd")


def _cni(inv: Inventory, running: Running) -> Iterator[str]:
    if running.cni is None:
        return
    name, want = wanted.cni(inv)
    if name != running.cni.name:
        yield (
            f"The pod network is {running.cni.name} but the inventory asks for {name} "
            f"(kube_cni); cluster.up does not replace a running pod network, so set kube_cni "
            f"back to {running.cni.name}."
        )
    elif want is not None and running.cni.version and not same(running.cni.version, want):
        setting = f"cni_{name}_version"
        yield (
            f"{name} runs {running.cni.version} but the inventory asks for {want} ({setting}); "
            f"{_UPGRADE}, or set {setting} back to {running.cni.version}."
        )


def _etcd(inv: Inventory, running: Running) -> Iterator[str]:
    found: dict[tuple[str, str, str], list[str]] = {}
    for host in inv.group("etcd"):
        member = running.etcd.get(host.name)
        want = wanted.etcd(inv, host)
        if member is None or member.version is None or want is None:
            continue
        if not same(member.version, want):
            found.setdefault((member.version, want, "etcd_version"), []).append(host.name)
    yield from _grouped(found, "etcd")


def before_up(inv: Inventory, runs_dir: Path, out: Console | None = None) -> None:
    """What cluster.up runs before its playbook: read what runs, say what could not be
    read (that part goes unchecked, so a cluster whose API is down can still be repaired),
    and refuse any version change."""
    from kubeprimer.upgrade.running import probe

    running = probe(inv, runs_dir=runs_dir)
    for line in running.unknown:
        (out or Console(stderr=True, highlight=False)).print(
            f"[yellow]![/] {line} cluster.up does not check those versions."
        )
    check(inv, running)
