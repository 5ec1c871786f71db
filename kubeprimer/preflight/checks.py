"""Preflight verdicts from the facts each host reported; pure functions, no I/O.

Every failing outcome carries the fix, so the table tells a user what to do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kubeprimer import platforms
from kubeprimer.inventory import Host, Inventory
from kubeprimer.inventory.rules import CONTROL_PLANE, ETCD, WORKERS

Facts = dict[str, Any]


class Status(Enum):
    PASS = "ok"
    NOTE = "ok*"  # passes; the note says what kubeprimer will change
    FAIL = "FAIL"


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str = ""
    fix: str = ""


def ok(detail: str = "") -> Outcome:
    return Outcome(Status.PASS, detail)


def note(detail: str) -> Outcome:
    return Outcome(Status.NOTE, detail)


def fail(detail: str, fix: str) -> Outcome:
    return Outcome(Status.FAIL, detail, fix)


# kubeadm's own minimums: 2 CPUs and 1700 MB on control planes.
MINIMUMS = {CONTROL_PLANE: (2, 1700), WORKERS: (1, 1024), ETCD: (1, 1024)}
PORTS = {
    CONTROL_PLANE: {
        6443: "kube-apiserver",
        2379: "etcd",
        2380: "etcd",
        10250: "kubelet",
        10257: "kube-controller",
        10259: "kube-scheduler",
    },
    WORKERS: {10250: "kubelet", 10256: "kube-proxy"},
    ETCD: {2379: "etcd", 2380: "etcd"},
}


def check_os(host: Host, facts: Facts, _all: dict[str, Facts], _inv: Inventory) -> Outcome:
    release = facts["os"]
    key = (release.get("ID", ""), release.get("VERSION_ID", ""))
    name = release.get("PRETTY_NAME", "unknown OS")
    # The supported systems are the Debian releases the pins file pins packages for.
    if key in platforms.supported_hosts():
        return ok(name)
    if key[0] == "ubuntu":
        return fail(
            name,
            "Ubuntu is untested (its archive cannot be reached from kubeprimer's test "
            f"machines, so no role has run there); install {platforms.describe()} on this host.",
        )
    return fail(name, f"Install {platforms.describe()} on this host.")


def check_privilege(host: Host, facts: Facts, _all: dict[str, Facts], _inv: Inventory) -> Outcome:
    method = str(host.vars.get("ansible_become_method") or "sudo")
    if facts["euid"] == 0:
        return ok("root" if host.user in (None, "root") else f"{host.user} via {method}")
    return fail(
        f"commands do not run as root (ansible_become_method {method})",
        f"Give {host.user} passwordless sudo (or set ansible_become_password in a vault), or connect as root.",
    )


def check_swap(host: Host, facts: Facts, _all: dict[str, Facts], _inv: Inventory) -> Outcome:
    if not facts["swaps"]:
        return ok("off")
    from kubeprimer.preflight import container_node  # it builds on this module's verdicts

    if container_node.wanted(host):
        return note(f"the host's {len(facts['swaps'])} swap device(s); kubelet tolerates them here")
    return note(f"{len(facts['swaps'])} swap device(s) on; node preparation turns swap off")


def check_resources(host: Host, facts: Facts, _all: dict[str, Facts], _inv: Inventory) -> Outcome:
    cpus, mem_mib = facts["cpus"], facts["mem_kib"] // 1024
    need = [MINIMUMS[g] for g in MINIMUMS if g in host.groups] or [MINIMUMS[WORKERS]]
    need_cpu, need_mem = max(n[0] for n in need), max(n[1] for n in need)
    summary = f"{cpus} CPU, {mem_mib} MiB"
    if cpus >= need_cpu and mem_mib >= need_mem:
        return ok(summary)
    return fail(
        summary,
        f"This host's roles need at least {need_cpu} CPU and {need_mem} MiB; add resources or move it to kube_node.",
    )


def check_ports(host: Host, facts: Facts, _all: dict[str, Facts], _inv: Inventory) -> Outcome:
    wanted: dict[int, str] = {}
    for group, ports in PORTS.items():
        if group in host.groups:
            wanted.update(ports)
    busy = [
        (port, owner)
        for port, owner in facts["listeners"]
        if port in wanted and not str(owner).startswith(wanted[port][:7])
    ]
    if not busy:
        return ok(f"{len(wanted)} ports free or held by Kubernetes")
    taken = ", ".join(f"{p} ({o or 'unknown process'})" for p, o in sorted(set(busy)))
    return fail(f"in use: {taken}", "Stop or move the services holding these ports.")


def check_identity(
    host: Host, facts: Facts, all_facts: dict[str, Facts], _inv: Inventory
) -> Outcome:
    # Containers share the host's DMI data; their machine-id is what tells them apart.
    in_container = facts["container"] != "none"
    field = "machine_id" if in_container or not facts["product_uuid"] else "product_uuid"
    mine = facts[field]
    twins = sorted(
        name for name, other in all_facts.items() if other is not facts and other.get(field) == mine
    )
    label = field.replace("_", "-")
    if not mine:
        return fail(f"no {label}", "Run systemd-machine-id-setup on this host.")
    if twins:
        return fail(
            f"{label} shared with {', '.join(twins)}",
            f"Give each host its own {label} (cloned hosts: regenerate /etc/machine-id).",
        )
    return ok(f"{label} unique" + (" (container)" if in_container else ""))


def check_macs(host: Host, facts: Facts, all_facts: dict[str, Facts], _inv: Inventory) -> Outcome:
    seen = Counter(
        mac for other in all_facts.values() for mac in set(other["macs"].values()) if mac
    )
    shared = sorted(mac for mac in set(facts["macs"].values()) if seen[mac] > 1)
    if shared:
        return fail(
            f"MAC {', '.join(shared)} on several hosts",
            "Give every network interface a unique MAC address.",
        )
    return ok(f"{len(facts['macs'])} interface(s) unique")


def check_hostname(
    host: Host, facts: Facts, all_facts: dict[str, Facts], _inv: Inventory
) -> Outcome:
    name = facts["hostname"]
    twins = sorted(
        n
        for n, other in all_facts.items()
        if other is not facts and other["hostname"].lower() == name.lower()
    )
    if twins:
        return fail(
            f"hostname {name} also on {', '.join(twins)}",
            "Give each host a unique hostname (hostnamectl set-hostname).",
        )
    if not facts["hostname_resolves"]:
        return fail(f"{name} does not resolve", f"Add {name} to /etc/hosts or DNS.")
    unresolved = sorted(n for n, addr in facts["peers"].items() if not addr)
    if unresolved:
        return note(
            f"{name}; peers not resolvable yet: {', '.join(unresolved)} (node preparation adds them to /etc/hosts)"
        )
    return ok(name)


def check_time(host: Host, facts: Facts, _all: dict[str, Facts], _inv: Inventory) -> Outcome:
    if facts["container"] != "none":
        return ok(f"clock owned by the {facts['container']} host")
    if facts["ntp_synchronized"] == "yes":
        return ok("synchronised")
    if not facts["time_services"]:
        return note("no time service yet; node preparation installs chrony")
    return fail(
        f"{', '.join(facts['time_services'])} running but not synchronised",
        "Check the NTP servers are reachable (chronyc sources).",
    )


def check_cgroup(host: Host, facts: Facts, _all: dict[str, Facts], _inv: Inventory) -> Outcome:
    info = facts["cgroup"]
    if info["v2"]:
        return ok("cgroup v2")
    missing = sorted({"cpu", "memory", "pids"} - set(info["v1_controllers"]))
    if missing:
        return fail(
            f"cgroup v1 without {', '.join(missing)}",
            "Boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2).",
        )
    if host.vars.get("kubelet_fail_cgroup_v1") is False:
        return note("cgroup v1 (deprecated); kubelet_fail_cgroup_v1: false lets kubelet start")
    return fail(
        "cgroup v1: kubelet 1.35+ refuses to start on it",
        "Boot with systemd.unified_cgroup_hierarchy=1, or set kubelet_fail_cgroup_v1: false for this host.",
    )


def check_container_node(
    host: Host, facts: Facts, all_facts: dict[str, Facts], inv: Inventory
) -> Outcome:
    from kubeprimer.preflight import container_node  # it builds on this module's verdicts

    return container_node.check(host, facts, all_facts, inv)


Check = Callable[[Host, Facts, dict[str, Facts], Inventory], Outcome]
CHECKS: dict[str, Check] = {
    "sudo": check_privilege,
    "os": check_os,
    "swap": check_swap,
    "res": check_resources,
    "ports": check_ports,
    "uuid": check_identity,
    "mac": check_macs,
    "name": check_hostname,
    "time": check_time,
    "cgrp": check_cgroup,
    "ctr": check_container_node,
}


def evaluate(inv: Inventory, facts: dict[str, Facts]) -> dict[str, dict[str, Outcome]]:
    """Outcome of every check on every host that answered."""
    return {
        name: {check: fn(inv.hosts[name], facts[name], facts, inv) for check, fn in CHECKS.items()}
        for name in facts
    }
