"""The preflight probe runs with the Python the playbooks' modules use on a host: its
ansible_python_interpreter, when the inventory names one. Run by real Ansible against
this machine (connection local), with an interpreter that is not on PATH."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from kubeprimer.inventory import load
from kubeprimer.preflight import remote

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the probe escalates with sudo, as root here"),
]


def test_the_probe_runs_with_the_hosts_interpreter(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    python = tmp_path / "opt" / "site-python"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\ntouch {ran}\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    host = {"ansible_connection": "local", "ansible_python_interpreter": str(python)}
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(
        yaml.safe_dump(
            {"all": {"children": {"kube_control_plane": {"hosts": {"localhost": host}}}}}
        )
    )
    found = remote.gather(load(hosts), runs_dir=tmp_path / "runs")
    assert "localhost" in found.facts, found.errors
    assert ran.exists()
