"""The package proxy every lab shares: one apt-cacher-ng on a lab-only address.

Debian packages are downloaded once for all nodes of all labs: apt-cacher-ng keeps
each .deb in ``<lab_cache_dir>/apt-cacher-ng`` and hands HTTPS through (CONNECT) for
everything else. It listens on a /32 of the lab supernet put on ``lo``, which every
node reaches through its bridge, so it serves no other network. The first lab up
starts it; the last lab down stops it and removes the address.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import time
from pathlib import Path

from kubeprimer.errors import UserError
from kubeprimer.lab.host import LabFailure, pid_alive, run, wait_gone

COMM = "apt-cacher-ng"


def _conf(conf_dir: Path, cache: Path, address: ipaddress.IPv4Address, port: int) -> str:
    return (
        f"CacheDir: {cache}\n"
        f"LogDir: {conf_dir / 'log'}\n"
        "SupportDir: /usr/lib/apt-cacher-ng\n"
        f"BindAddress: {address}\n"
        f"Port: {port}\n"
        f"PidFile: {conf_dir / 'pid'}\n"
        f"SocketPath: {conf_dir / 'socket'}\n"
        "ForeGround: 0\n"
        # CONNECT tunnels for HTTPS (container registries, HTTPS apt sources).
        "PassThroughPattern: .*\n"
        "ExThreshold: 4\n"
    )


def _pid(conf_dir: Path) -> int | None:
    try:
        pid = int((conf_dir / "pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid, COMM) else None


def _has_address(address: ipaddress.IPv4Address) -> bool:
    return f" {address}/32 " in run(["ip", "-4", "-o", "addr", "show", "dev", "lo"], what="read lo")


def _listening(address: ipaddress.IPv4Address, port: int) -> bool:
    try:
        with socket.create_connection((str(address), port), timeout=0.5):
            return True
    except OSError:
        return False


def ensure(state_dir: Path, cache_dir: Path, address: ipaddress.IPv4Address, port: int) -> None:
    """Start the shared proxy unless it already runs with this configuration."""
    conf_dir = state_dir / "proxy"
    cache = cache_dir / "apt-cacher-ng"
    conf = _conf(conf_dir, cache, address, port)
    if not _has_address(address):
        run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], what="add the proxy address")
    pid = _pid(conf_dir)
    conf_file = conf_dir / "acng.conf"
    if pid and conf_file.exists() and conf_file.read_text() == conf:
        return
    if pid:
        _stop_pid(pid)
    if _listening(address, port):
        # Ours is not running, so this is another program, e.g. a system-wide
        # apt-cacher-ng listening on every address: nodes would silently use it.
        raise UserError(
            f"Port {port} on {address} is taken by another program (a system apt-cacher-ng?); "
            "stop it or set kubeprimer.lab_proxy_port to a free port."
        )
    for d in (conf_dir / "log", cache):
        d.mkdir(parents=True, exist_ok=True)
    conf_file.write_text(conf)
    run([COMM, "-c", str(conf_dir)], what="start the package proxy (apt-cacher-ng)")
    deadline = time.monotonic() + 10
    while not (_listening(address, port) and _pid(conf_dir)):
        if time.monotonic() > deadline:
            raise LabFailure(
                f"The package proxy did not listen on {address}:{port} within 10 s; "
                f"see {conf_dir / 'log'}."
            )
        time.sleep(0.05)


def _stop_pid(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid, COMM, 10):
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid, COMM, 5)


def stop(state_dir: Path, address: ipaddress.IPv4Address) -> None:
    """Stop the proxy and take its address away (the cache stays for the next lab)."""
    conf_dir = state_dir / "proxy"
    pid = _pid(conf_dir)
    if pid:
        _stop_pid(pid)
    if _has_address(address):
        run(["ip", "addr", "del", f"{address}/32", "dev", "lo"], what="remove the proxy address")
    for name in ("pid", "acng.conf", "socket"):
        (conf_dir / name).unlink(missing_ok=True)
