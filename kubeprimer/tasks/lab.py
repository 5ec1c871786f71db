"""lab.*: the local lab, real Debian machines booted with systemd-nspawn on this host."""

from __future__ import annotations

import os
import sys
from typing import Any

from invoke import Collection

from kubeprimer import output
from kubeprimer.errors import UserError
from kubeprimer.output import Listing, emit_json, show
from kubeprimer.settings import setting
from kubeprimer.tasks._task import task

NAME_HELP = "lab name, up to 8 lowercase letters or digits (default: kubeprimer.lab_name, 'kp')"


def _config(c: Any) -> Any:
    from kubeprimer.lab.config import LabConfig

    return LabConfig.from_settings(c.config.kubeprimer)


def _name(c: Any, name: str | None) -> str:
    return name or str(setting(c, "lab_name"))


def _as_data(status: Any) -> dict[str, Any]:
    lab = status.plan
    return {
        "name": lab.name,
        "bridge": lab.bridge,
        "subnet": str(lab.subnet),
        "proxy": lab.proxy_url,
        "user": lab.user,
        "inventory": str(status.inventory) if status.inventory else None,
        "key": str(status.key),
        "nodes": [
            {
                "name": n.name,
                "address": n.address,
                "groups": list(n.groups),
                "os": n.os,
                "state": n.state,
                "memory_bytes": n.memory,
            }
            for n in status.nodes
        ],
    }


def _show(status: Any, as_json: bool = False) -> None:
    if as_json:
        emit_json(_as_data(status))
        return
    lab = status.plan
    table = Listing(
        ("node", "address", "groups", "os", "state", "memory"),
        title=f"lab {lab.name}: bridge {lab.bridge} {lab.subnet}, proxy {lab.proxy_url}",
        right=("memory",),
    )
    for n in status.nodes:
        memory = f"{n.memory / 2**20:.0f} MiB" if n.memory is not None else "-"
        table.add(n.name, n.address, ", ".join(n.groups), n.os, n.state, memory)
    console = output.console()
    show(console, table)
    if status.inventory:
        console.print(f"inventory: {status.inventory}   (ansible_user {lab.user})")
    console.print(f"ssh: invoke lab.ssh {status.nodes[0].name}   (key {status.key})")


@task(
    help={
        "nodes": "number of nodes, 1 to kubeprimer.lab_max_nodes (default: kubeprimer.lab_nodes)",
        "name": NAME_HELP,
        "user": "connect as this new user with passwordless sudo instead of root, as on "
        "most bare metal (default: root; a running lab keeps its user)",
        "os": "Debian release of the nodes, bookworm or trixie; a comma-separated list is "
        "taken in turn, one release per node, e.g. bookworm,trixie (default: "
        "kubeprimer.lab_suite; a running lab keeps its releases)",
    }
)
def up(
    c: Any,
    nodes: str | None = None,
    name: str | None = None,
    user: str | None = None,
    os: str | None = None,
) -> None:
    """Boot the lab's nodes and write its inventory; a no-op when it already runs."""
    from kubeprimer.lab import lifecycle, plan

    raw = nodes if nodes is not None else setting(c, "lab_nodes")
    try:
        size = int(raw)
    except ValueError:
        raise UserError(f"--nodes takes a whole number, not {raw!r}.") from None
    releases = None if os is None else plan.parse_os(os)
    _show(lifecycle.up(_config(c), _name(c, name), size, user_name=user, releases=releases))


@task(help={"name": NAME_HELP, "json": "print the same data as JSON, for scripts"})
def status(c: Any, name: str | None = None, json: bool = False) -> None:
    """Show the lab's nodes: address, groups, Debian release, state and memory."""
    from kubeprimer.lab import lifecycle

    _show(lifecycle.status(_config(c), _name(c, name)), as_json=json)


@task(
    help={
        "node": "node name (e.g. kp-1) or its number in the lab (e.g. 1)",
        "name": NAME_HELP,
        "command": "run this command instead of an interactive shell",
    }
)
def ssh(c: Any, node: str, name: str | None = None, command: str | None = None) -> None:
    """Open a root shell on a lab node over SSH, as Ansible reaches it."""
    from kubeprimer.lab import lifecycle

    lab_name = _name(c, name)
    if not node.isdigit() and "-" in node and name is None:
        lab_name = node.rsplit("-", 1)[0]  # kp-2 names its lab
    target = f"{lab_name}-{node}" if node.isdigit() else node
    status = lifecycle.status(_config(c), lab_name)
    found = [n for n in status.nodes if n.name == target]
    if not found:
        names = ", ".join(n.name for n in status.nodes)
        raise UserError(f"Lab {lab_name} has no node {node}; pick one of {names}.")
    argv = status.ssh_argv(found[0].address)
    if command:
        argv.append(command)
    sys.stdout.flush()
    os.execvp("ssh", argv)


@task(help={"name": NAME_HELP, "all": "remove every lab on this host"})
def down(c: Any, name: str | None = None, all: bool = False) -> None:
    """Stop the lab and remove its nodes, bridge, mounts, processes and inventory."""
    from kubeprimer.lab import lifecycle

    cfg = _config(c)
    names = lifecycle.labs(cfg) if all else [_name(c, name)]
    for lab_name in names:
        removed = lifecycle.down(cfg, lab_name)
        print(f"lab {lab_name}: {'removed' if removed else 'was not up'}")
    if all and not names:
        print("no labs on this host")


ns = Collection("lab", up, status, ssh, down)
