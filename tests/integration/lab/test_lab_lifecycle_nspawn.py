"""lab up and down against real systemd-nspawn nodes: repeatable, and nothing left behind.

These labs use their own state directory, supernet and proxy port, so they can check
that the last lab down also stops the package proxy while other labs run elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeprimer.errors import UserError
from kubeprimer.lab import lifecycle, node
from kubeprimer.lab.config import LabConfig
from kubeprimer.lab.host import LabFailure, wait_gone
from kubeprimer.lab.state import LabDirs

pytestmark = pytest.mark.integration

NAME = "lc"


@pytest.fixture
def cfg(lab_config: LabConfig, tmp_path: Path) -> Iterator[LabConfig]:
    own = dataclasses.replace(
        lab_config, state_dir=tmp_path / "state", supernet="10.140.0.0/16", proxy_port=3143
    )
    try:
        yield own
    finally:
        lifecycle.down(own, NAME)


def leftovers(cfg: LabConfig, name: str) -> list[str]:
    """What the judges look at: links, mounts and processes, plus our cgroups and state."""
    found = []
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    found += [f"link {w}" for w in links.split() if w.startswith((f"kpbr-{name}", f"vb-{name}-"))]
    mounts = subprocess.run(["mount"], capture_output=True, text=True, check=True).stdout
    found += [f"mount {line}" for line in mounts.splitlines() if str(cfg.state_dir) in line]
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    found += [f"process {line}" for line in procs.splitlines() if str(cfg.state_dir) in line]
    # A stopped daemon's zombie shows in `ps` (without its arguments) until init reaps it.
    states = subprocess.run(
        ["ps", "-eo", "stat=,comm="], capture_output=True, text=True, check=True
    )
    found += [
        f"zombie {line}"
        for line in states.stdout.splitlines()
        if line.startswith("Z") and line.split()[-1] in ("apt-cacher-ng", "systemd-nspawn")
    ]
    addresses = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True)
    found += [f"address {line}" for line in addresses.stdout.splitlines() if "10.140." in line]
    found += [f"cgroup {p}" for p in node.cgroup_dirs(name) if p.exists()]
    if (cfg.state_dir / name).exists():
        found.append(f"state {cfg.state_dir / name}")
    return found


def test_up_twice_then_down_leaves_nothing(cfg: LabConfig, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    first = lifecycle.up(cfg, NAME, 2, inventory_dir=inventory)
    pids = node.running(LabDirs(cfg.state_dir, NAME))
    assert len(pids) == 2 and {n.state for n in first.nodes} <= {"running", "starting"}
    second = lifecycle.up(cfg, NAME, 2)
    assert node.running(LabDirs(cfg.state_dir, NAME)) == pids
    assert [n.address for n in second.nodes] == [n.address for n in first.nodes]
    assert (inventory / "hosts.yml").exists()
    assert lifecycle.down(cfg, NAME)
    assert leftovers(cfg, NAME) == []
    assert not inventory.exists()
    assert not lifecycle.down(cfg, NAME)


def test_rerun_finishes_a_lab_whose_node_died(cfg: LabConfig, tmp_path: Path) -> None:
    lifecycle.up(cfg, NAME, 2, inventory_dir=tmp_path / "inventory")
    dirs = LabDirs(cfg.state_dir, NAME)
    victim = f"{NAME}-2"
    pid = node.running(dirs)[victim]
    os.kill(pid, signal.SIGKILL)
    # SIGKILL lands asynchronously: a dying nspawn without its child still looks "starting".
    assert wait_gone(pid, node.NSPAWN, 10)
    assert lifecycle.status(cfg, NAME).nodes[1].state in {"stopped", "booting"}
    again = lifecycle.up(cfg, NAME, 2)
    assert victim in node.running(dirs)
    assert node.ssh_answers(again.nodes[1].address)


def test_node_that_fails_to_boot_is_cleaned_up(
    cfg: LabConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node, "INIT", "/no/such/init")
    quick = dataclasses.replace(cfg, boot_timeout=20)
    with pytest.raises(LabFailure, match=f"Node {NAME}-1 failed to boot"):
        lifecycle.up(quick, NAME, 1, inventory_dir=cfg.state_dir.parent / "inventory")
    assert leftovers(cfg, NAME) == []


def test_address_clash_is_refused_before_anything_is_made(cfg: LabConfig) -> None:
    clash = "kptestclash"
    subprocess.run(["ip", "link", "add", clash, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", "10.141.0.1/16", "dev", clash], check=True)
        taken = dataclasses.replace(cfg, supernet="10.141.0.0/16")
        with pytest.raises(UserError, match=f"clashes with 10.141.0.0/16 on {clash}"):
            lifecycle.up(taken, NAME, 1)
        assert leftovers(taken, NAME) == []
    finally:
        subprocess.run(["ip", "link", "del", clash], check=True)


def test_size_out_of_range_makes_nothing(cfg: LabConfig) -> None:
    with pytest.raises(UserError, match="out of range"):
        lifecycle.up(cfg, NAME, cfg.max_nodes + 1)
    assert not cfg.state_dir.exists()


def test_foreign_program_on_the_proxy_port_is_refused(cfg: LabConfig) -> None:
    # A system-wide apt-cacher-ng listens on every address; the lab must not use it unknowingly.
    taken = f"Port {cfg.proxy_port} on 10.140.0.1 is taken"
    with socket.create_server(("0.0.0.0", cfg.proxy_port)), pytest.raises(UserError, match=taken):
        lifecycle.up(cfg, NAME, 1)
    assert leftovers(cfg, NAME) == []
