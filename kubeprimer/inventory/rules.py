"""Checks an inventory must pass before any host is touched.

Each rule returns sentences that name the host or setting and say what to do,
so a user fixes every problem in one round.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from itertools import combinations
from typing import Any
from urllib.parse import urlsplit

from kubeprimer import pins, redact
from kubeprimer.inventory.command_values import kernel_modules, no_proxy
from kubeprimer.inventory.containerd_settings import containerd
from kubeprimer.inventory.model import Inventory, port_number
from kubeprimer.yamlfile import Vaulted

CONTROL_PLANE = "kube_control_plane"
WORKERS = "kube_node"
ETCD = "etcd"
CNIS = ("flannel", "calico", "weave")
ETCD_MODES = ("stacked", "external")

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
# A proxy URL is written into apt's configuration (inside quotes) and into environment
# files: quotes, backslashes, white space or line breaks there would add settings of
# their own. Special characters in a password are written percent-encoded.
_PROXY_URL = re.compile(r"https?://[A-Za-z0-9._~%!*+,=:@\[\]/-]+")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _templated(value: Any) -> bool:
    """Jinja values are resolved by Ansible at run time, and a vaulted value with no
    password here is Ansible's to decrypt: neither can be judged here."""
    return (isinstance(value, str) and "{{" in value) or isinstance(value, Vaulted)


def _ip(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _looks_like_ip(text: str) -> bool:
    return bool(re.fullmatch(r"[\d.]+", text)) or ":" in text


def valid_host_address(text: str) -> bool:
    if _looks_like_ip(text):
        return _ip(text) is not None
    return bool(_HOSTNAME.match(text))


def groups_present(inv: Inventory) -> Iterator[str]:
    if not inv.group(CONTROL_PLANE):
        yield f"No host is in group {CONTROL_PLANE}; add at least one control-plane host to it."
    if not inv.group(CONTROL_PLANE) and not inv.group(WORKERS):
        yield f"No host is in group {WORKERS} or {CONTROL_PLANE}; list the cluster's hosts in those groups."


def etcd_members(inv: Inventory) -> Iterator[str]:
    mode = inv.settings.get("etcd_mode")
    if mode not in ETCD_MODES:
        yield f"etcd_mode {mode!r} is not known; set it to stacked or external."
        return
    etcd = {h.name for h in inv.group(ETCD)}
    planes = {h.name for h in inv.group(CONTROL_PLANE)}
    if mode == "external" and not etcd:
        yield f"etcd_mode is external but group {ETCD} is empty; list 1, 3 or 5 etcd hosts in it."
        return
    if mode == "stacked" and etcd and etcd != planes:
        yield (
            f"With etcd_mode stacked, etcd runs on every control plane, but group {ETCD} "
            f"({', '.join(sorted(etcd))}) differs from {CONTROL_PLANE} ({', '.join(sorted(planes))}); "
            "make the two groups the same hosts or set etcd_mode: external."
        )
    members = etcd if mode == "external" else planes
    if members and len(members) % 2 == 0:
        where = f"Group {ETCD}" if mode == "external" else f"Group {CONTROL_PLANE} (stacked etcd)"
        yield (
            f"{where} has {len(members)} etcd members; use an odd number ({len(members) - 1} or "
            f"{len(members) + 1}) so etcd keeps quorum when one fails."
        )


def unique_hosts(inv: Inventory) -> Iterator[str]:
    by_name: dict[str, list[str]] = {}
    by_address: dict[str, list[str]] = {}
    for host in inv.hosts.values():
        by_name.setdefault(host.name.lower(), []).append(host.name)
        if not _templated(host.address):
            by_address.setdefault(host.address.lower(), []).append(host.name)
    for names in by_name.values():
        if len(names) > 1:
            yield f"Hosts {' and '.join(sorted(names))} differ only in case; host names are case-insensitive, rename one."
    for address, names in by_address.items():
        if len(names) > 1:
            yield f"Hosts {', '.join(sorted(names))} share the address {address}; give each host its own ansible_host."


def host_addresses(inv: Inventory) -> Iterator[str]:
    for host in inv.hosts.values():
        if not valid_host_address(host.name):
            yield f"Host name {host.name!r} is not a valid hostname; use letters, digits and hyphens."
        raw = host.vars.get("ansible_host")
        if raw is not None and not _templated(raw) and not valid_host_address(str(raw)):
            yield f"Host {host.name} has ansible_host {raw!r}, which is neither an IP address nor a hostname; correct it."


# Ports the roles listen on or connect to: the roles would refuse a bad one only when
# they start, after the stages before them have changed the hosts.
PORT_SETTINGS = (
    "etcd_client_port",
    "etcd_peer_port",
    "api_endpoint_monitor_port",
    "vault_api_port",
    "vault_cluster_port",
    "etcd_backup_sftp_port",
    "etcd_backup_etcd_client_port",
)


def ports(inv: Inventory) -> Iterator[str]:
    bad: dict[tuple[str, str], list[str]] = {}
    for host in sorted(inv.hosts.values(), key=lambda h: h.name):
        raw = host.vars.get("ansible_port")
        if raw is not None and not _templated(raw) and port_number(raw) is None:
            yield f"Host {host.name} has ansible_port {raw!r}; set it to the SSH port, 1 to 65535."
        for setting in PORT_SETTINGS:
            raw = host.vars.get(setting)
            if raw is not None and not _templated(raw) and port_number(raw) is None:
                bad.setdefault((setting, repr(raw)), []).append(host.name)
    for (setting, shown), hosts in bad.items():
        yield f"{setting} {shown} on {', '.join(hosts)} is not a port; set it to 1 to 65535."
    raw = inv.settings.get("kube_api_port", 6443)
    if not _templated(raw) and port_number(raw) is None:
        yield f"kube_api_port {raw!r} is not a port; set it to 1 to 65535 (kube-apiserver's default is 6443)."


def kube_version(inv: Inventory) -> Iterator[str]:
    version = str(inv.settings.get("kube_version", ""))
    minors = inv.settings.get("kube_supported_minors")
    if not isinstance(minors, list) or not minors:
        yield "kube_supported_minors must be a list of MAJOR.MINOR releases; remove it to use kubeprimer's."
        return
    supported = [str(m) for m in minors]
    match = _VERSION.match(version)
    if not match:
        example = pins.cluster_defaults()["kube_version"]
        yield (
            f"kube_version {version!r} is not a release number; write it as MAJOR.MINOR.PATCH, "
            f"for example {example}."
        )
    elif f"{match[1]}.{match[2]}" not in supported:
        choices = (
            ", ".join(supported[:-1]) + f" or {supported[-1]}"
            if len(supported) > 1
            else "".join(supported)
        )
        yield f"kube_version {version} is not supported; set it to a {choices} release."


def cni(inv: Inventory) -> Iterator[str]:
    name = inv.settings.get("kube_cni")
    if name not in CNIS:
        yield f"kube_cni {name!r} is not known; set it to one of {', '.join(CNIS)}."


def _networks(inv: Inventory) -> tuple[dict[str, Network], list[str]]:
    nets: dict[str, Network] = {}
    problems = []
    for setting in ("kube_pod_cidr", "kube_service_cidr", "kube_node_cidr"):
        value = inv.settings.get(setting)
        if not value or _templated(value):
            continue
        try:
            nets[setting] = ipaddress.ip_network(str(value), strict=True)
        except ValueError as error:
            hint = "write it as ADDRESS/PREFIX with no host bits set, for example 10.244.0.0/16"
            problems.append(f"{setting} {value!r} is not a valid CIDR ({error}); {hint}.")
    return nets, problems


def networks(inv: Inventory) -> Iterator[str]:
    nets, problems = _networks(inv)
    yield from problems
    for (a, net_a), (b, net_b) in combinations(nets.items(), 2):
        if net_a.version == net_b.version and net_a.overlaps(net_b):
            yield f"{a} {net_a} overlaps {b} {net_b}; choose ranges that do not overlap."
    cluster_nets = {k: v for k, v in nets.items() if k != "kube_node_cidr"}
    for host in inv.hosts.values():
        ip = _ip(host.address)
        for setting, net in cluster_nets.items():
            if ip is not None and ip.version == net.version and ip in net:
                yield f"Host {host.name} address {ip} lies inside {setting} {net}; move that network away from the node network."


def api_endpoint(inv: Inventory) -> Iterator[str]:
    endpoint = inv.settings.get("kube_api_endpoint") or ""
    planes = inv.group(CONTROL_PLANE)
    if len(planes) > 1 and not endpoint:
        yield (
            f"{len(planes)} control planes need kube_api_endpoint, a virtual IP or load balancer in front "
            "of them; set it in group_vars/all."
        )
    if endpoint and not _templated(endpoint):
        host, _, port = (
            str(endpoint).rpartition(":") if str(endpoint).count(":") == 1 else (endpoint, "", "")
        )
        if not valid_host_address(str(host)):
            yield f"kube_api_endpoint {endpoint!r} is not HOST or HOST:PORT; give an IP address or DNS name."
        elif port and port_number(port) is None:
            yield f"kube_api_endpoint {endpoint!r} has an invalid port; use 1 to 65535."
        elif (
            _ip(str(host))
            and any(h.address == host for h in inv.hosts.values())
            and len(planes) > 1
        ):
            yield f"kube_api_endpoint {host} is a host's own address; use a free virtual IP so it can move between control planes."
        elif len(planes) > 1 and (
            not port or port_number(port) == port_number(inv.settings.get("kube_api_port", 6443))
        ):
            yield (
                f"kube_api_endpoint {endpoint} needs a port other than kube_api_port, for example {host}:8443: "
                "haproxy listens on it on every control plane, where kube-apiserver holds kube_api_port."
            )


def proxies(inv: Inventory) -> Iterator[str]:
    for setting in ("proxy_http", "proxy_https"):
        value = inv.settings.get(setting)
        if not value or _templated(value):
            continue
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = redact.url(str(value))
            yield f"{setting} {shown!r} is not a proxy URL; write it as http://HOST:PORT."
        elif not _PROXY_URL.fullmatch(str(value)):
            shown = redact.url(str(value))
            yield (
                f"{setting} {shown!r} holds white space, a line break, a quote or another "
                "character a proxy URL cannot carry; percent-encode it (a password's ; as %3B)."
            )
    if not isinstance(inv.settings.get("proxy_no_proxy", []), list):
        yield "proxy_no_proxy must be a list of hosts, domains or CIDRs."


RULES: tuple[Callable[[Inventory], Iterator[str]], ...] = (
    groups_present,
    etcd_members,
    unique_hosts,
    host_addresses,
    ports,
    kube_version,
    cni,
    networks,
    api_endpoint,
    proxies,
    kernel_modules,
    no_proxy,
    containerd,
)


def problems(inv: Inventory) -> list[str]:
    found = list(inv.load_problems)
    for rule in RULES:
        found.extend(rule(inv))
    # A rule that quotes a value back must not print a URL's password.
    return [redact.text(p) for p in found]
