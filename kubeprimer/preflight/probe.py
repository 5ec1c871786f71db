"""Runs on each host (``python3`` over SSH) and prints what preflight needs as JSON.

Standard library only, read-only, and one round trip per host. The names of the
other hosts come in as arguments so each host can say whether it resolves them.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys


def sh(command: str) -> str:
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=10)
        return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def os_release() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in read("/etc/os-release").splitlines() if "=" in line)
    return {k: v.strip('"') for k, v in pairs}


def physical_macs() -> dict[str, str]:
    macs: dict[str, str] = {}
    for name in sorted(os.listdir("/sys/class/net")):
        if (
            os.path.realpath(f"/sys/class/net/{name}").startswith("/sys/devices/virtual/")
            and name != "host0"
        ):
            continue
        macs[name] = read(f"/sys/class/net/{name}/address")
    return macs


def listeners() -> list[list[object]]:
    found: list[list[object]] = []
    for line in sh("ss -Htlnp").splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        port = parts[3].rsplit(":", 1)[-1]
        owner = parts[5].split('"')[1] if len(parts) > 5 and '"' in parts[5] else ""
        if port.isdigit():
            found.append([int(port), owner])
    return found


def resolves(name: str) -> str:
    try:
        return socket.gethostbyname(name)
    except OSError:
        return ""


def mem_kib() -> int:
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def cgroup() -> dict[str, object]:
    mounts = [line.split() for line in read("/proc/mounts").splitlines()]
    unified = any(m[1] == "/sys/fs/cgroup" and m[2] == "cgroup2" for m in mounts if len(m) > 2)
    v1 = sorted({opt for m in mounts if len(m) > 3 and m[2] == "cgroup" for opt in m[3].split(",")})
    # Containers often get their cgroups read-only; kubelet and containerd must create some.
    read_only = sorted(
        m[1]
        for m in mounts
        if len(m) > 3 and m[2] in ("cgroup", "cgroup2") and "ro" in m[3].split(",")
    )
    return {"v2": unified, "v1_controllers": v1, "read_only": read_only}


def kmsg() -> str:
    """The state of /dev/kmsg, which kubelet's OOM watcher reads: ok, or what is wrong."""
    try:
        mode = os.stat("/dev/kmsg").st_mode
    except OSError:
        return "missing"
    if not stat.S_ISCHR(mode):
        return "not a character device"
    try:
        os.close(os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK))
    except OSError as error:
        return f"unreadable ({error.strerror})"
    return "ok"


def main(peers: list[str]) -> None:
    hostname = socket.gethostname()
    facts = {
        "euid": os.geteuid(),
        "os": os_release(),
        "swaps": read("/proc/swaps").splitlines()[1:],
        "cpus": len(os.sched_getaffinity(0)),
        "mem_kib": mem_kib(),
        "listeners": listeners(),
        "product_uuid": read("/sys/class/dmi/id/product_uuid"),
        "machine_id": read("/etc/machine-id"),
        "macs": physical_macs(),
        "hostname": hostname,
        "hostname_resolves": resolves(hostname),
        "peers": {name: resolves(name) for name in peers},
        "container": sh("systemd-detect-virt --container") or "none",
        "ntp_synchronized": sh("timedatectl show -p NTPSynchronized --value"),
        "time_services": [
            s
            for s in ("chrony", "systemd-timesyncd", "ntp", "ntpsec")
            if sh(f"systemctl is-active {s}") == "active"
        ],
        "cgroup": cgroup(),
        "kmsg": kmsg(),
    }
    print(json.dumps(facts))


if __name__ == "__main__":
    main(sys.argv[1:])
