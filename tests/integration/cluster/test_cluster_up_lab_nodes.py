"""invoke cluster.up end to end on three real systemd-nspawn lab nodes, as a user runs it.

Every role that can run here converges (CA, node preparation, containerd); the run then
stops at kube_artifacts, whose upstream files cannot be downloaded on this machine. A
converged re-run skips the recorded stages and changes nothing; a change made on a node
by hand (a file, a kernel parameter) is found and put back; `--full` runs every task
again and still changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeprimer.lab import lifecycle
from kubeprimer.lab.config import LabConfig
from kubeprimer.paths import ROOT
from tests.integration.conftest import MIXED, RunningLab

pytestmark = pytest.mark.integration

NAME = "cu"
SYSCTL_FILE = "/etc/sysctl.d/90-kubeprimer.conf"


@pytest.fixture(scope="module")
def cluster_lab(
    lab_config: LabConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningLab]:
    inventory = tmp_path_factory.mktemp("cluster-up-inventory")
    # Debian 12 and 13 nodes side by side: every host stage converges on both.
    status = lifecycle.up(lab_config, NAME, 3, inventory_dir=inventory, releases=MIXED)
    try:
        yield RunningLab(lab_config, status, inventory / "hosts.yml")
    finally:
        lifecycle.down(lab_config, NAME)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cluster-up-runs")


def cluster_up(lab: RunningLab, runs: Path, *flags: str) -> tuple[str, dict[str, int], set[str]]:
    """Output, changed count per host and the roles that ran, of one `invoke cluster.up`."""
    env = {**os.environ, "INVOKE_KUBEPRIMER_RUNS_DIR": str(runs), "COLUMNS": "200"}
    invoke = Path(sys.executable).with_name("invoke")
    done = subprocess.run(
        [str(invoke), "cluster.up", "-i", str(lab.inventory), *flags],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = done.stdout + done.stderr
    # This machine cannot download Kubernetes: every run ends there, as an error.
    assert done.returncode == 1, output
    assert "set kube_artifacts_mirror_url to a reachable mirror" in output, output
    events = [
        json.loads(p.read_text())
        for p in max(runs.glob("*-cluster")).glob("artifacts/*/job_events/*.json")
    ]
    stats = next(e["event_data"] for e in events if e["event"] == "playbook_on_stats")
    roles = {e["event_data"].get("role") for e in events if e["event"] == "runner_on_ok"}
    return output, stats.get("changed", {}), roles - {None}


def test_a_converged_rerun_skips_recorded_stages_and_changes_nothing(
    cluster_lab: RunningLab, runs: Path
) -> None:
    _, changed, roles = cluster_up(cluster_lab, runs)
    assert all(changed.get(node) for node in cluster_lab.nodes), changed
    assert {"pki", "node_prep", "containerd", "kube_artifacts"} <= roles

    output, changed, roles = cluster_up(cluster_lab, runs)
    assert sum(changed.values()) == 0, changed
    # kube_artifacts never completed here, so it is the one stage that runs again,
    # and that is no news to report.
    assert "runs again" not in output, output
    assert not roles & {"pki", "node_prep", "containerd"}, roles
    assert "kube_artifacts" in roles


def test_changes_made_on_a_node_are_found_and_put_back(cluster_lab: RunningLab, runs: Path) -> None:
    cluster_up(cluster_lab, runs)
    edited, retuned, untouched = cluster_lab.nodes
    want = cluster_lab.ssh(edited, f"cat {SYSCTL_FILE}").stdout
    cluster_lab.ssh(edited, f"echo 'vm.swappiness = 60' >> {SYSCTL_FILE}")
    cluster_lab.ssh(retuned, "sysctl -qw net.ipv4.ip_forward=0")

    output, changed, roles = cluster_up(cluster_lab, runs)
    assert changed.get(edited) and changed.get(retuned), output
    assert f"runs again {edited}: nodes: changed on the host: file:{SYSCTL_FILE}" in output
    assert not changed.get(untouched), changed
    assert "node_prep" in roles
    assert cluster_lab.ssh(edited, f"cat {SYSCTL_FILE}").stdout == want
    assert cluster_lab.ssh(retuned, "sysctl -n net.ipv4.ip_forward").stdout.strip() == "1"

    _, changed, roles = cluster_up(cluster_lab, runs, "--full")
    assert sum(changed.values()) == 0, changed
    assert {"pki", "node_prep", "containerd"} <= roles
