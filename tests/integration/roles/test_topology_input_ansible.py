"""etcd and api_endpoint, run by ansible-playbook on this machine: they stay out of the
way when the topology does not need them, and refuse a topology that cannot work with
one sentence, before any task touches a host."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.roles.localplay import changed, run_role

pytestmark = pytest.mark.integration


def test_etcd_does_nothing_when_kubeadm_runs_it(tmp_path: Path) -> None:
    result = run_role(tmp_path, "etcd", ["main"], {"etcd_mode": "stacked"})
    assert result.returncode == 0, result.stdout
    assert changed(result) == 0
    assert "Create the etcd system user" not in result.stdout


def test_etcd_refuses_an_even_member_count(tmp_path: Path) -> None:
    members = {"etcd": ["localhost", "etcd-b"]}
    result = run_role(tmp_path, "etcd", ["main"], {"etcd_mode": "external"}, members)
    assert result.returncode != 0
    assert (
        "External etcd needs an odd number of members in the 'etcd' group (it has 2"
        in result.stdout
    )
    assert "Create the etcd system user" not in result.stdout


def test_api_endpoint_does_nothing_for_one_control_plane(tmp_path: Path) -> None:
    result = run_role(tmp_path, "api_endpoint", ["main"], {}, {"kube_control_plane": ["localhost"]})
    assert result.returncode == 0, result.stdout
    assert changed(result) == 0
    assert "Install haproxy" not in result.stdout


def test_api_endpoint_needs_a_port_apart_from_the_api_servers(tmp_path: Path) -> None:
    planes = {"kube_control_plane": ["localhost", "cp-b"]}
    settings = {"kube_api_endpoint": "192.0.2.100", "kube_api_port": 6443}
    result = run_role(tmp_path, "api_endpoint", ["main"], settings, planes)
    assert result.returncode != 0
    assert (
        "kube_api_endpoint must be a free IPv4 address with a port other than kube_api_port"
        in result.stdout
    )
    assert "got '192.0.2.100'" in result.stdout
    assert "Install haproxy" not in result.stdout
