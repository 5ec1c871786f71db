"""cluster.check against real lab hosts over SSH: passes on healthy nodes, and
reports a taken port and an unreachable host truthfully."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.inventory import load
from kubeprimer.paths import ROOT
from kubeprimer.preflight import checks, remote
from kubeprimer.preflight.checks import Status

pytestmark = pytest.mark.integration


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("invoke")), *args]
    return subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "160", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **(env or {})},
    )


def test_healthy_lab_nodes_pass(lab: Any) -> None:
    done = invoke("cluster.check", "-i", str(lab.inventory))
    assert done.returncode == 0, done.stdout + done.stderr
    for node in lab.nodes:
        row = next(line for line in done.stdout.splitlines() if line.strip().startswith(node))
        assert "FAIL" not in row


def test_taken_port_and_unreachable_host_fail(lab: Any, tmp_path: Path) -> None:
    plane = next(h.name for h in load(lab.inventory).group("kube_control_plane"))
    lab.ssh(plane, "setsid python3 -m http.server 6443 >/dev/null 2>&1 < /dev/null & sleep 1")
    inventory = yaml.safe_load(lab.inventory.read_text())
    inventory["all"]["hosts"]["ghost"] = {
        "ansible_host": lab.address(plane).rsplit(".", 1)[0] + ".250"
    }
    inventory["all"]["children"]["kube_node"]["hosts"]["ghost"] = None
    (tmp_path / "group_vars").symlink_to(lab.inventory.parent / "group_vars")
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    try:
        inv = load(tmp_path / "hosts.yml")
        found = remote.gather(inv, timeout=3)
        assert found.unreachable == {"ghost"}
        outcomes = checks.evaluate(inv, found.facts)
        assert outcomes[plane]["ports"].status is Status.FAIL
        assert "6443 (python3)" in outcomes[plane]["ports"].detail
        done = invoke("cluster.check", "-i", str(tmp_path / "hosts.yml"), "--timeout", "3")
        # An unreachable host is exit status 3, as for every task; the port is still reported.
        assert done.returncode == 3
        assert f"✗ {plane} ports: in use: 6443 (python3)" in done.stdout
        assert "✗ ghost ssh: unreachable over SSH" in done.stdout
    finally:
        lab.ssh(plane, "pkill -f 'http.server 6443'", check=False)
