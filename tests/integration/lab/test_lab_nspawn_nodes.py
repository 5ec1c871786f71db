"""A running lab: real systemd-nspawn nodes that look like bare-metal hosts over SSH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubeprimer.lab import lifecycle, node
from kubeprimer.lab.state import LabDirs
from kubeprimer.paths import ROOT
from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

CAP_SYS_TIME = 25


def test_every_node_runs_systemd_and_answers_ssh(lab: RunningLab) -> None:
    for name in lab.nodes:
        done = lab.ssh(name, "hostname; systemctl is-system-running --wait", check=False)
        failed = lab.ssh(name, "systemctl --failed --no-legend --plain", check=False).stdout
        assert done.stdout.split() == [name, "running"], f"{name}: failed units: {failed.strip()}"


def test_each_node_has_its_own_cgroup_in_every_hierarchy(lab: RunningLab) -> None:
    # Nodes sharing a cgroup anywhere race each other's systemd at boot (219/CGROUP).
    for name, pid in node.running(LabDirs(lab.config.state_dir, lab.name)).items():
        leader = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0]
        lines = Path(f"/proc/{leader}/cgroup").read_text().splitlines()
        outside = [line for line in lines if f"/kubeprimer-lab/{lab.name}/{name}" not in line]
        assert lines and outside == [], f"{name}: {outside}"


def test_nodes_have_their_own_identity(lab: RunningLab) -> None:
    ids = {lab.ssh(n, "cat /etc/machine-id").stdout.strip() for n in lab.nodes}
    macs = {lab.ssh(n, "cat /sys/class/net/host0/address").stdout.strip() for n in lab.nodes}
    hostkeys = {
        lab.ssh(n, "cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1] for n in lab.nodes
    }
    assert len(ids) == len(macs) == len(hostkeys) == len(lab.nodes)


def test_node_names_resolve_on_every_node(lab: RunningLab) -> None:
    out = lab.ssh(lab.nodes[0], f"getent hosts {' '.join(lab.nodes)}").stdout
    for name in lab.nodes:
        assert f"{lab.address(name)} " in out and name in out


def test_nodes_cannot_set_the_host_clock(lab: RunningLab) -> None:
    bounding = lab.ssh(lab.nodes[0], "grep CapBnd /proc/1/status").stdout.split()[1]
    assert not int(bounding, 16) & (1 << CAP_SYS_TIME)
    assert lab.ssh(lab.nodes[0], "date -s @0", check=False).returncode != 0


def test_apt_goes_through_the_lab_proxy(lab: RunningLab) -> None:
    conf = lab.ssh(lab.nodes[0], "apt-config dump Acquire::http::Proxy").stdout
    assert lab.status.plan.proxy_url in conf


def test_second_up_is_a_no_op_that_reports_the_lab(lab: RunningLab) -> None:
    dirs = LabDirs(lab.config.state_dir, lab.name)
    before = node.running(dirs)
    again = lifecycle.up(lab.config, lab.name, len(lab.nodes))
    assert node.running(dirs) == before
    assert [n.name for n in again.nodes] == lab.nodes
    assert {n.state for n in again.nodes} == {"running"}
    assert all(n.memory and n.memory < 200 * 2**20 for n in again.nodes)


def test_ansible_reaches_every_node_with_the_lab_inventory(lab: RunningLab) -> None:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    done = subprocess.run(
        ["ansible", "all", "-i", str(lab.inventory), "-m", "ansible.builtin.ping", "-o"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(lab.nodes)
    groups = json.loads(
        subprocess.run(
            ["ansible-inventory", "-i", str(lab.inventory), "--list"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
    )
    assert groups["etcd"]["hosts"] == lab.nodes[:1]
    assert groups["kube_node"]["hosts"] == lab.nodes[1:]


def test_lab_status_json_gives_scripts_the_table_data(lab: RunningLab) -> None:
    invoke = str(Path(sys.executable).with_name("invoke"))
    done = subprocess.run(
        [invoke, "lab.status", "--name", lab.name, "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["name"] == lab.name
    assert [n["name"] for n in data["nodes"]] == lab.nodes
    assert [n["address"] for n in data["nodes"]] == [lab.address(n) for n in lab.nodes]
    assert {n["state"] for n in data["nodes"]} == {"running"}
    assert all(isinstance(n["memory_bytes"], int) for n in data["nodes"])
