"""Preflight verdicts from the facts hosts report (facts recorded as a Debian 12 host gives them)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubeprimer.inventory import Inventory, load
from kubeprimer.preflight import checks, remote
from kubeprimer.preflight.checks import Status

BASE: dict[str, Any] = {
    "euid": 0,
    "os": {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"},
    "swaps": [],
    "cpus": 2,
    "mem_kib": 4 * 1024 * 1024,
    "listeners": [[22, "sshd"]],
    "product_uuid": "",
    "machine_id": "m-cp1",
    "macs": {"eth0": "02:00:00:00:00:01"},
    "hostname": "cp1",
    "hostname_resolves": "10.1.0.11",
    "peers": {"cp1": "10.1.0.11", "w1": "10.1.0.21"},
    "container": "none",
    "ntp_synchronized": "yes",
    "time_services": ["chrony"],
    "cgroup": {"v2": True, "v1_controllers": [], "read_only": []},
    "kmsg": "ok",
}


@pytest.fixture
def inv(tmp_path: Path) -> Inventory:
    (tmp_path / "hosts.yml").write_text(
        "all:\n  children:\n    kube_control_plane:\n      hosts:\n        cp1: {ansible_host: 10.1.0.11}\n"
        "    kube_node:\n      hosts:\n        w1: {ansible_host: 10.1.0.21, kubelet_fail_cgroup_v1: false}\n"
    )
    return load(tmp_path / "hosts.yml")


def facts(**changes: Any) -> dict[str, dict[str, Any]]:
    cp1 = copy.deepcopy(BASE)
    w1 = copy.deepcopy(BASE) | {
        "machine_id": "m-w1",
        "hostname": "w1",
        "macs": {"eth0": "02:00:00:00:00:02"},
    }
    for key, value in changes.items():
        host, _, field = key.partition("__")
        (cp1 if host == "cp1" else w1)[field] = value
    return {"cp1": cp1, "w1": w1}


def verdict(inv: Inventory, host: str, check: str, **changes: Any) -> checks.Outcome:
    return checks.evaluate(inv, facts(**changes))[host][check]


def test_healthy_hosts_pass_everything(inv: Inventory) -> None:
    outcomes = checks.evaluate(inv, facts())
    assert {o.status for row in outcomes.values() for o in row.values()} == {Status.PASS}


def test_unsupported_os(inv: Inventory) -> None:
    outcome = verdict(
        inv, "cp1", "os", cp1__os={"ID": "centos", "VERSION_ID": "7", "PRETTY_NAME": "CentOS 7"}
    )
    assert outcome.status is Status.FAIL and "Debian 12" in outcome.fix


def test_swap_on_is_noted_not_failed(inv: Inventory) -> None:
    assert verdict(inv, "w1", "swap", w1__swaps=["/swapfile file 1024 0 -2"]).status is Status.NOTE


def test_control_plane_minimums(inv: Inventory) -> None:
    outcome = verdict(inv, "cp1", "res", cp1__cpus=1)
    assert outcome.status is Status.FAIL and "2 CPU and 1700 MiB" in outcome.fix
    assert verdict(inv, "w1", "res", w1__cpus=1, w1__mem_kib=1100 * 1024).status is Status.PASS


def test_port_held_by_other_process(inv: Inventory) -> None:
    outcome = verdict(inv, "cp1", "ports", cp1__listeners=[[6443, "nginx"], [10250, "kubelet"]])
    assert outcome.status is Status.FAIL and "6443 (nginx)" in outcome.detail


def test_duplicate_product_uuid_and_mac(inv: Inventory) -> None:
    same = {
        "cp1__product_uuid": "abc",
        "w1__product_uuid": "abc",
        "w1__macs": {"eth0": "02:00:00:00:00:01"},
    }
    outcomes = checks.evaluate(inv, facts(**same))
    assert outcomes["w1"]["uuid"].status is Status.FAIL
    assert outcomes["cp1"]["mac"].status is Status.FAIL


def test_containers_are_told_apart_by_machine_id(inv: Inventory) -> None:
    same = {
        "cp1__product_uuid": "abc",
        "w1__product_uuid": "abc",
        "cp1__container": "systemd-nspawn",
        "w1__container": "systemd-nspawn",
    }
    outcome = checks.evaluate(inv, facts(**same))["w1"]["uuid"]
    assert outcome.status is Status.PASS and "machine-id" in outcome.detail


def test_hostnames_unique_and_resolvable(inv: Inventory) -> None:
    assert verdict(inv, "w1", "name", w1__hostname="CP1").status is Status.FAIL
    assert verdict(inv, "w1", "name", w1__hostname_resolves="").status is Status.FAIL
    assert verdict(inv, "w1", "name", w1__peers={"cp1": ""}).status is Status.NOTE


def test_time(inv: Inventory) -> None:
    assert verdict(inv, "cp1", "time", cp1__ntp_synchronized="no").status is Status.FAIL
    assert (
        verdict(inv, "cp1", "time", cp1__ntp_synchronized="no", cp1__time_services=[]).status
        is Status.NOTE
    )
    assert (
        verdict(
            inv, "cp1", "time", cp1__ntp_synchronized="no", cp1__container="systemd-nspawn"
        ).status
        is Status.PASS
    )


def test_cgroup_v1_needs_explicit_opt_in(inv: Inventory) -> None:
    v1 = {"v2": False, "v1_controllers": ["cpu", "memory", "pids", "rw"]}
    assert verdict(inv, "cp1", "cgrp", cp1__cgroup=v1).status is Status.FAIL
    assert verdict(inv, "w1", "cgrp", w1__cgroup=v1).status is Status.NOTE


def test_not_root_fails_privilege(inv: Inventory) -> None:
    assert verdict(inv, "cp1", "sudo", cp1__euid=1000).status is Status.FAIL


def test_probe_runs_here_and_reports_every_fact() -> None:
    """The probe is the code that runs on hosts: run it on this machine, as the remote command would."""
    command = remote.probe_command(["localhost"]).replace(remote.PYTHON, sys.executable, 1)
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    reported = json.loads(done.stdout)
    assert set(reported) == set(BASE)
    assert reported["peers"]["localhost"]
