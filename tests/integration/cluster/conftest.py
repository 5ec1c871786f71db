"""Fixtures: stand-in hosts (mount namespaces) and a runner for the kubeadm role."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ANSIBLE_CFG, ROOT

from .hosts import FakeHost, missing_tools, start, stop
from .watch import ProcessWatch

FAKE_KUBEADM = ROOT / "tests" / "doubles" / "fake-kubeadm"
PLAYBOOK = Path(__file__).with_name("kubeadm.yml")
CONTROL_PLANES = ("cp1", "cp2", "cp3")
WORKERS = ("w1",)


@dataclass
class Run:
    rc: int
    log: str
    recap: dict[str, dict[str, int]]
    commands: set[str]


@dataclass
class Cluster:
    hosts: dict[str, FakeHost]
    inventory: Path
    workdir: Path

    def play(self, *extra: str, watch: bool = False) -> Run:
        """ansible-playbook run from inside cp1's namespace (the controller shares cp1's
        view, so fetch works), verbose, with every process command line sampled."""
        cp1 = self.hosts["cp1"]
        log_file = self.workdir / "ansible.log"
        log_file.unlink(missing_ok=True)
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
            "ANSIBLE_LOG_PATH": str(log_file),
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(self.workdir / "facts"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
        }
        bindir = Path(sys.executable).parent
        cmd = [
            "nsenter",
            f"--target={cp1.pid}",
            "--mount",
            str(bindir / "ansible-playbook"),
            "-vv",
            "-i",
            str(self.inventory),
            str(PLAYBOOK),
            *extra,
        ]
        with ProcessWatch(enabled=watch) as seen:
            done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        output = done.stdout + done.stderr
        text = output + (log_file.read_text() if log_file.exists() else "")
        return Run(done.returncode, text, recap(done.stdout), seen.seen)


def recap(stdout: str) -> dict[str, dict[str, int]]:
    found = {}
    for line in stdout.split("PLAY RECAP")[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line)
        if match:
            found[match.group(1)] = {
                k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))
            }
    return found


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    reason = missing_tools()
    if reason:
        pytest.skip(f"stand-in hosts unavailable: {reason}")
    hosts: dict[str, FakeHost] = {}
    try:
        for name in (*CONTROL_PLANES, *WORKERS):
            hosts[name] = start(name, tmp_path / "hosts")
        inventory = tmp_path / "inventory" / "hosts.yml"
        inventory.parent.mkdir()
        address = {name: f"10.0.0.{11 + i}" for i, name in enumerate(hosts)}
        host_vars = {
            name: {
                "ansible_host": address[name],
                # cp1 runs Ansible itself; the others are entered with nsenter.
                "ansible_python_interpreter": "/usr/bin/python3"
                if name == "cp1"
                else str(host.interpreter(tmp_path)),
            }
            for name, host in hosts.items()
        }
        inventory.write_text(
            yaml.safe_dump(
                {
                    "all": {
                        "vars": {
                            "ansible_connection": "local",
                            "kubeadm_binary": str(FAKE_KUBEADM),
                            "kube_api_endpoint": "10.0.0.10:6443",
                            "kubelet_fail_cgroup_v1": False,
                            # Stand-in hosts have no systemd for the approver's timer, and
                            # the double has no API to approve on (tested on its own).
                            "kubeadm_kubelet_serving_approver": False,
                            # Nor any namespace to label (tested against fake_kube_api).
                            "kubeadm_pod_security_privileged_namespaces": [],
                        },
                        "hosts": host_vars,
                        "children": {
                            "kube_control_plane": {"hosts": dict.fromkeys(CONTROL_PLANES)},
                            "kube_node": {"hosts": dict.fromkeys(WORKERS)},
                            "etcd": {"hosts": dict.fromkeys(CONTROL_PLANES)},
                        },
                    }
                }
            )
        )
        yield Cluster(hosts, inventory, tmp_path)
    finally:
        for host in hosts.values():
            stop(host)
