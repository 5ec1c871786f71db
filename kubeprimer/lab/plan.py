"""What a lab looks like, computed from its name and size alone (no side effects).

Every lab gets one /24 of the lab supernet. The first choice of slot is derived from
the name, so a lab comes back on the same addresses; when another lab already holds
that slot the next free one is taken and remembered in the lab's state.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass

from kubeprimer.errors import UserError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,7}$")
HOSTNAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# What Debian's useradd accepts without --badname, and what sudoers needs no quoting for.
USER_PATTERN = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
ROOT_USER = "root"
# Host addresses inside a lab's /24: the bridge, the API virtual IP, then the nodes.
BRIDGE_HOST = 1
VIP_HOST = 10
FIRST_NODE_HOST = 11
# Slot 0 of the supernet is kept for the package proxy's address.
PROXY_SLOT = 0
HA_CONTROL_PLANES = 3
# haproxy listens on the VIP's port on every control plane, where kube-apiserver
# already holds 6443, so the HA endpoint needs a port of its own.
HA_API_PORT = 8443

IPv4Network = ipaddress.IPv4Network
IPv4Address = ipaddress.IPv4Address


def check_name(name: str) -> None:
    """Names end up in interface names (15 characters at most), so keep them short."""
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"Lab name {name!r} is not valid; use 1 to 8 lowercase letters or digits, "
            "starting with a letter."
        )


def check_user(user: str) -> None:
    """The account Ansible connects as: root, or a new user with passwordless sudo."""
    if not USER_PATTERN.match(user):
        raise UserError(
            f"User name {user!r} is not valid; use up to 32 lowercase letters, digits, '_' "
            "or '-', starting with a letter or '_'."
        )


def check_hostnames(hostnames: list[str], size: int) -> None:
    """Hostnames must be valid DNS labels, one per node, all different."""
    bad = [h for h in hostnames if not HOSTNAME_PATTERN.match(h)]
    if bad:
        raise UserError(f"Hostnames {', '.join(bad)} are not valid; use lowercase DNS labels.")
    if len(hostnames) != size or len(set(hostnames)) != size:
        raise UserError(f"Give {size} different hostnames, one per node.")


def parse_os(text: str) -> list[str]:
    """``--os``: one release, or several separated by commas that nodes take in turn."""
    return [part.strip() for part in text.split(",")]


def node_releases(wanted: list[str], size: int, known: tuple[str, ...]) -> tuple[str, ...]:
    """One release per node: node i takes the ((i - 1) mod n)-th of the ``wanted`` list."""
    choices = " or ".join(known)
    unknown = [r for r in wanted if r not in known]
    if unknown or not wanted:
        named = ", ".join(repr(r) for r in unknown) or "nothing"
        raise UserError(
            f"--os names {named}, not a release lab nodes run; give {choices}, or a "
            f"comma-separated list of them that nodes take in turn (e.g. {','.join(known)})."
        )
    if len(wanted) > size:
        raise UserError(
            f"--os gives {len(wanted)} releases for {size} node{'s' if size > 1 else ''}; "
            "give at most one release per node."
        )
    return tuple(wanted[i % len(wanted)] for i in range(size))


def check_size(nodes: int, max_nodes: int) -> None:
    if not 1 <= nodes <= max_nodes:
        raise UserError(f"--nodes {nodes} is out of range; give a number from 1 to {max_nodes}.")


def supernet_of(text: str) -> IPv4Network:
    try:
        net = ipaddress.IPv4Network(text)
    except ValueError:
        raise UserError(
            f"lab_supernet {text!r} is not an IPv4 network; use e.g. 10.139.0.0/16."
        ) from None
    if not net.is_private or net.prefixlen > 22:
        raise UserError(
            f"lab_supernet {text} must be a private network of /22 or larger, e.g. 10.139.0.0/16."
        )
    return net


def slot_count(supernet: IPv4Network) -> int:
    return int(2 ** (24 - supernet.prefixlen))


def preferred_slot(name: str, supernet: IPv4Network) -> int:
    """A stable slot per name, never the proxy's."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    return 1 + digest % (slot_count(supernet) - 1)


def choose_slot(name: str, supernet: IPv4Network, taken: set[int]) -> int:
    """The preferred slot, or the next free one after it."""
    count = slot_count(supernet)
    first = preferred_slot(name, supernet)
    for step in range(count - 1):
        slot = 1 + (first - 1 + step) % (count - 1)
        if slot not in taken:
            return slot
    raise UserError(
        "Every lab subnet is in use; take a lab down first (invoke lab.down --name NAME)."
    )


def subnet_of(supernet: IPv4Network, slot: int) -> IPv4Network:
    base = int(supernet.network_address) + slot * 256
    return ipaddress.IPv4Network((base, 24))


def proxy_address(supernet: IPv4Network) -> IPv4Address:
    return subnet_of(supernet, PROXY_SLOT).network_address + 1


@dataclass(frozen=True)
class Node:
    name: str
    address: IPv4Address
    groups: tuple[str, ...]
    # The node's own hostname; the machine name stays ``name``, unique on the host.
    hostname: str
    # The Debian release the node runs (a debootstrap suite: bookworm, trixie).
    release: str = ""


@dataclass(frozen=True)
class LabPlan:
    """Names, addresses and Ansible groups of one lab."""

    name: str
    size: int
    subnet: IPv4Network
    proxy: IPv4Address
    proxy_port: int
    hostnames: tuple[str, ...] = ()
    # The account the inventory connects as; any other than root gets passwordless sudo.
    user: str = ROOT_USER
    # One Debian release per node (empty when not known, e.g. in a plan made for addresses).
    releases: tuple[str, ...] = ()

    @property
    def bridge(self) -> str:
        return f"kpbr-{self.name}"

    @property
    def gateway(self) -> IPv4Address:
        return self.subnet.network_address + BRIDGE_HOST

    @property
    def vip(self) -> IPv4Address:
        return self.subnet.network_address + VIP_HOST

    @property
    def proxy_url(self) -> str:
        return f"http://{self.proxy}:{self.proxy_port}"

    @property
    def ha(self) -> bool:
        return self.size > HA_CONTROL_PLANES

    @property
    def api_endpoint(self) -> str:
        """The VIP and haproxy's port with an HA control plane, else the only control plane's address."""
        return f"{self.vip}:{HA_API_PORT}" if self.ha else str(self.nodes[0].address)

    @property
    def nodes(self) -> list[Node]:
        return [
            Node(
                name=f"{self.name}-{i}",
                address=self.subnet.network_address + FIRST_NODE_HOST + i - 1,
                groups=groups_for(i, self.size),
                hostname=self.hostnames[i - 1] if self.hostnames else f"{self.name}-{i}",
                release=self.releases[i - 1] if self.releases else "",
            )
            for i in range(1, self.size + 1)
        ]


def groups_for(index: int, size: int) -> tuple[str, ...]:
    """1 node: all in one; 2-3: one control plane (with etcd) and workers; more: 3 HA."""
    control_planes = HA_CONTROL_PLANES if size > HA_CONTROL_PLANES else 1
    if size == 1:
        return ("kube_control_plane", "etcd", "kube_node")
    if index <= control_planes:
        return ("kube_control_plane", "etcd")
    return ("kube_node",)
