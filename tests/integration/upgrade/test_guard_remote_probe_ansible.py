"""remote.run, the one raw task the upgrade probes run on hosts, through real Ansible:
a host that answers (a local connection: a read-only echo) and one that cannot be
reached (a port nothing listens on) are told apart, in parallel."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubeprimer.inventory import load
from kubeprimer.upgrade import remote

pytestmark = pytest.mark.integration


def test_answers_and_unreachable_hosts(tmp_path: Path) -> None:
    hosts = {
        "here": {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"},
        "gone": {"ansible_host": "127.0.0.1", "ansible_port": 1},
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"etcd": {"hosts": hosts}}}}))
    answers = remote.run(
        load(path), ["here", "gone"], "echo noise; echo '{\"version\": 1}'", 2, tmp_path / "runs"
    )
    assert answers["here"].ok and answers["here"].json_line() == {"version": 1}
    assert not answers["gone"].ok
    assert answers["gone"].problem.startswith("unreachable over SSH (")
    assert answers["gone"].json_line() is None
