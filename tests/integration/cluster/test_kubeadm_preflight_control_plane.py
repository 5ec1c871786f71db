"""The kubeadm role's preflight, run by ansible-playbook on the controller (it only
reads): an EventRateLimit limit kube-apiserver could not read, or an empty cipher suite
list, stops the run before any host changes, with one sentence saying what to fix."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ROOT
from tests.programs import run_playbook

pytestmark = pytest.mark.integration

FIX = "Give kubeadm_tls_cipher_suites at least one suite"


def preflight(tmp_path: Path, **settings: object) -> tuple[int, str]:
    inventory = tmp_path / "hosts.yml"
    local = {
        "ansible_connection": "local",
        "ansible_host": "127.0.0.1",
        "ansible_python_interpreter": sys.executable,
    }
    groups = {"kube_control_plane": {"hosts": {"cp1": local}}, "etcd": {"hosts": {"cp1": None}}}
    inventory.write_text(yaml.safe_dump({"all": {"children": groups}}))
    playbook = tmp_path / "preflight.yml"
    preflight_only = {
        "ansible.builtin.include_role": {"name": "kubeadm", "tasks_from": "preflight"}
    }
    play = {"hosts": "cp1", "gather_facts": False, "roles": ["kube_defaults"]}
    playbook.write_text(yaml.safe_dump([{**play, "tasks": [preflight_only]}]))
    # The double stands in for the binary whose presence the preflight checks.
    extra = {"kubeadm_binary": str(ROOT / "tests" / "doubles" / "fake-kubeadm"), **settings}
    done = run_playbook(["-i", str(inventory), str(playbook), "--extra-vars", json.dumps(extra)])
    return done.returncode, done.stdout + done.stderr


def test_the_defaults_pass(tmp_path: Path) -> None:
    rc, log = preflight(tmp_path)
    assert rc == 0, log[-4000:]


@pytest.mark.parametrize(
    "settings",
    [
        {"kubeadm_event_rate_limits": [{"type": "Cluster", "qps": 5, "burst": 10}]},
        {"kubeadm_event_rate_limits": [{"type": "User", "qps": 0, "burst": 10}]},
        {"kubeadm_event_rate_limits": [{"type": "User", "burst": 10}]},
        {"kubeadm_tls_cipher_suites": []},
    ],
    ids=["unknown-type", "zero-qps", "no-qps", "no-ciphers"],
)
def test_unreadable_settings_are_refused(tmp_path: Path, settings: dict[str, object]) -> None:
    rc, log = preflight(tmp_path, **settings)
    assert rc != 0
    assert FIX in log, log[-4000:]
