"""Collect preflight facts from every host at once over SSH with Fabric."""

from __future__ import annotations

import base64
import json
import logging
import shlex
from pathlib import Path
from typing import Any

from kubeprimer.inventory import Host, Inventory

PROBE = Path(__file__).with_name("probe.py")

# paramiko logs a failed handshake with its traceback from its own thread; the table
# already reports that host as unreachable, with the fix. Set once, not per run.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


def probe_command(peers: list[str], sudo: bool) -> str:
    # The probe travels inside the command, so one round trip per host suffices.
    code = base64.b64encode(PROBE.read_bytes()).decode()
    runner = f"import base64;exec(compile(base64.b64decode('{code}'),'probe','exec'))"
    command = f"python3 -c {shlex.quote(runner)} {' '.join(shlex.quote(p) for p in peers)}"
    return f"sudo -n {command}" if sudo else command


def connection(host: Host, timeout: int) -> Any:
    from fabric import Connection

    key = host.vars.get("ansible_ssh_private_key_file") or host.vars.get("ansible_private_key_file")
    connect_kwargs: dict[str, Any] = {
        "banner_timeout": timeout,
        "auth_timeout": timeout,
    }
    if key:
        connect_kwargs["key_filename"] = str(Path(str(key)).expanduser())
    return Connection(
        host.address,
        user=host.user or "root",
        port=host.port,
        connect_kwargs=connect_kwargs,
        connect_timeout=timeout,
    )


def gather(inv: Inventory, timeout: int = 10) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Facts from each host that answered, and the reason for each that did not."""
    from fabric import ThreadingGroup
    from fabric.exceptions import GroupException

    hosts = list(inv.hosts.values())
    peers = [h.name for h in hosts]
    connections = {h.name: connection(h, timeout) for h in hosts}
    by_conn = {id(c): n for n, c in connections.items()}
    facts: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    # Root needs no sudo; everyone else escalates, which also proves sudo works.
    for sudo in (False, True):
        names = [h.name for h in hosts if (h.user not in (None, "root")) == sudo]
        if not names:
            continue
        group = ThreadingGroup.from_connections([connections[n] for n in names])
        try:
            results = group.run(probe_command(peers, sudo), hide=True, warn=True, in_stream=False)
        except GroupException as failure:
            results = failure.result
        for conn, outcome in results.items():
            name = by_conn[id(conn)]
            if isinstance(outcome, Exception):
                errors[name] = _explain(outcome)
            elif outcome.exited != 0:
                errors[name] = _explain_exit(outcome.stderr, sudo)
            else:
                facts[name] = json.loads(outcome.stdout)
    return facts, errors


def _explain(error: Exception) -> str:
    text = str(error) or error.__class__.__name__
    return f"unreachable over SSH ({text.splitlines()[0][:120]})"


def _explain_exit(stderr: str, sudo: bool) -> str:
    if sudo and "password" in stderr.lower():
        return "sudo asks for a password (passwordless sudo is required)"
    if "python3" in stderr and "not found" in stderr:
        return "python3 is missing (install it: apt-get install python3)"
    return f"the probe failed: {stderr.strip().splitlines()[-1][:120] if stderr.strip() else 'no output'}"
