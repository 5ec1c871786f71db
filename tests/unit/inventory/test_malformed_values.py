"""Values of the wrong type or shape end in one sentence each, never a traceback.

A table of malformed values for the settings the toolkit itself reads, each put both
on a host and in the ``all`` group's vars, found by feeding the reader such values.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubeprimer.errors import UserError
from kubeprimer.inventory import load, problems
from kubeprimer.paths import ROOT

MALFORMED = [None, 0, -5, 70000, 22.0, True, "", "abc", "22x", "²", "{{ port }}", [22], {"a": 1}]
SETTINGS = [
    "ansible_port",
    "ansible_host",
    "kube_api_port",
    "kube_version",
    "kube_supported_minors",
    "kube_cni",
    "kube_pod_cidr",
    "kube_api_endpoint",
    "proxy_http",
    "proxy_no_proxy",
    "etcd_mode",
]


def _inventory(tmp_path: Path, host_vars: dict[str, object], group_vars: object) -> Path:
    hosts = {
        "all": {
            "children": {
                "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "10.1.0.11", **host_vars}}}
            },
            "vars": group_vars,
        }
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(hosts))
    return tmp_path / "hosts.yml"


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("value", MALFORMED, ids=repr)
def test_malformed_value_is_a_sentence_or_accepted(
    tmp_path: Path, setting: str, value: object
) -> None:
    inv = load(_inventory(tmp_path, {setting: value}, {setting: value}))
    found = problems(inv)
    assert all(isinstance(p, str) and p.endswith(".") for p in found)
    try:
        # What preflight reads to connect.
        [(host.address, host.user, host.port) for host in inv.hosts.values()]
    except UserError as error:
        assert len(error.messages) == 1


@pytest.mark.parametrize("value", ["abc", "22x", "²", "0", 70000, [22], {"p": 22}, True, 22.0])
def test_a_port_that_is_not_a_number_is_named(tmp_path: Path, value: object) -> None:
    found = problems(load(_inventory(tmp_path, {"ansible_port": value}, {})))
    assert f"Host cp1 has ansible_port {value!r}; set it to the SSH port, 1 to 65535." in found


ROLE_PORTS = [
    "etcd_client_port",
    "etcd_peer_port",
    "api_endpoint_monitor_port",
    "vault_api_port",
    "vault_cluster_port",
    "etcd_backup_sftp_port",
    "etcd_backup_etcd_client_port",
]


@pytest.mark.parametrize("setting", ROLE_PORTS)
@pytest.mark.parametrize("value", ["abc", 0, 70000, True, 22.0])
def test_a_role_port_that_is_not_a_number_is_named(
    tmp_path: Path, setting: str, value: object
) -> None:
    """Refused before any host is touched, not when its role starts, after others ran."""
    found = problems(load(_inventory(tmp_path, {}, {setting: value})))
    assert f"{setting} {value!r} on cp1 is not a port; set it to 1 to 65535." in found


def test_supported_minors_that_are_not_a_list(tmp_path: Path) -> None:
    found = problems(load(_inventory(tmp_path, {}, {"kube_supported_minors": 5})))
    assert (
        "kube_supported_minors must be a list of MAJOR.MINOR releases; remove it to use kubeprimer's."
        in found
    )


def test_cluster_check_with_a_templated_port_exits_2(tmp_path: Path) -> None:
    """The rules leave Jinja to Ansible, but the SSH check cannot resolve it."""
    path = _inventory(tmp_path, {"ansible_port": "{{ ssh_port }}"}, {})
    done = subprocess.run(
        [str(Path(sys.executable).with_name("invoke")), "cluster.check", "-i", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.strip() == (
        "error: Host cp1 has ansible_port '{{ ssh_port }}', which cannot be used to connect "
        "from the controller; set it to a port number, 1 to 65535."
    )
