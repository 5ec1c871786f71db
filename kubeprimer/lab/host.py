"""Commands and checks on the lab host: root, tools, and the host's own networks."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence

from kubeprimer.errors import UserError

# Tool on PATH -> the Debian package that provides it.
TOOLS = {
    "systemd-nspawn": "systemd-container",
    "debootstrap": "debootstrap",
    "ip": "iproute2",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "apt-cacher-ng": "apt-cacher-ng",
    "nsenter": "util-linux",
    "mount": "mount",
}


class LabFailure(UserError):
    """Something on the host went wrong (not a user mistake): exit status 1, one sentence."""

    exit_code = 1


def run(cmd: Sequence[str], *, what: str, timeout: float = 120) -> str:
    """Run a command; on failure raise one sentence with the command's own last words."""
    try:
        done = subprocess.run(
            list(cmd), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise LabFailure(f"Could not {what}: {cmd[0]} took longer than {timeout:.0f} s.") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise LabFailure(f"Could not {what}: {last[0]}")
    return done.stdout


def check_host() -> None:
    """Root and every tool the lab needs, all reported at once."""
    problems = []
    if os.geteuid() != 0:
        problems.append("The lab needs root; run the task as root (e.g. with sudo).")
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    if missing:
        problems.append(
            f"The lab needs more Debian packages; install them: apt-get install {' '.join(missing)}."
        )
    if problems:
        raise UserError(*problems)


def _ip_json(*args: str) -> list[dict[str, object]]:
    out = run(["ip", "-j", "-4", *args], what=f"read the host's {args[0]}s")
    return list(json.loads(out or "[]"))


def host_networks() -> Iterator[tuple[ipaddress.IPv4Network, str]]:
    """Every IPv4 network the host has an address or a route in, with its device."""
    for link in _ip_json("addr", "show"):
        for info in link.get("addr_info", []):  # type: ignore[attr-defined]
            net = ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False)
            yield net, str(link["ifname"])
    for route in _ip_json("route", "show", "table", "all"):
        dst = str(route.get("dst", ""))
        if not dst or dst == "default" or route.get("type") in ("broadcast", "local"):
            continue
        yield ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32"), str(route.get("dev", ""))


def check_free(subnet: ipaddress.IPv4Network, own_devices: set[str], label: str) -> None:
    """Refuse a subnet that the host already reaches through a device the lab does not own."""
    for net, dev in host_networks():
        if dev not in own_devices and net.prefixlen > 0 and net.overlaps(subnet):
            raise UserError(
                f"The {label} {subnet} clashes with {net} on {dev}; pick another --name "
                "or set kubeprimer.lab_supernet to a free private network."
            )


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def _name_and_state(pid: int) -> tuple[str, str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]


def pid_alive(pid: int, comm: str) -> bool:
    """True when ``pid`` runs and is the program we started (pids get reused).

    A zombie counts as gone: when this process started the node itself, nobody
    else reaps it, so reap it here.
    """
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    found = _name_and_state(pid)
    return found is not None and found[0] == comm[:15] and found[1] != "Z"


def wait_gone(pid: int, comm: str, timeout: float) -> bool:
    """Wait until ``pid`` has left the process list, zombie included.

    Nodes and the proxy run detached from the task that started them, so init reaps
    them, a second or two late on some hosts; until then `ps` still shows them.
    """
    deadline = time.monotonic() + timeout
    while pid_alive(pid, comm) or _name_and_state(pid) == (comm[:15], "Z"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# Every node's systemd, journald, udev-less services and nested containerd take inotify
# instances from root's single per-user budget; the kernel default of 128 runs out at
# about a dozen nodes, and systemd in a new node then hangs while "initializing".
KERNEL_MINIMUMS = {
    "fs/inotify/max_user_instances": 8192,
    "fs/inotify/max_user_watches": 524288,
}


def raise_kernel_limits() -> None:
    """Raise (never lower) the host limits that many nodes share."""
    for key, wanted in KERNEL_MINIMUMS.items():
        path = f"/proc/sys/{key}"
        with open(path) as f:
            current = int(f.read().split()[0])
        if current < wanted:
            with open(path, "w") as f:
                f.write(str(wanted))
