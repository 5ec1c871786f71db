"""invoke cluster.up end to end on three real systemd-nspawn lab nodes, as a user runs it.

Every role that can run here converges (CA, node preparation, containerd); the run then
stops at kube_artifacts, whose upstream files cannot be downloaded on this machine. A
converged re-run skips the recorded stages and changes nothing; a change made on a node
by hand (a file, a kernel parameter) is found and put back; `--full` runs every task
again and still changes nothing.

The same playbook also runs without kubeprimer's CLI or Python, to the same state: from
the collection built and installed into a clean folder (docs/collection.md), and through
plain ansible-runner with a private data folder laid out as AWX lays it (docs/awx.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.lab import lifecycle
from kubeprimer.lab.config import LabConfig
from kubeprimer.paths import ROOT
from tests.integration.ansible.collection import build_and_install
from tests.integration.conftest import MIXED, RunningLab
from tests.programs import BINDIR

from .conftest import recap

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


def _no_kubeprimer(folder: Path) -> dict[str, str]:
    """An environment in which importing kubeprimer fails loudly: the run must not need it."""
    poison = folder / "poison" / "kubeprimer"
    poison.mkdir(parents=True, exist_ok=True)
    (poison / "__init__.py").write_text("raise ImportError('kubeprimer was imported')\n")
    return {"PYTHONPATH": str(poison.parent)}


def _runs_like_cluster_up(
    argv: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """A run without kubeprimer's CLI: it must stop where cluster.up stops on this machine
    and never import kubeprimer."""
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    output = done.stdout + done.stderr
    assert "set kube_artifacts_mirror_url to a reachable mirror" in output, output
    assert "kubeprimer was imported" not in output
    return done


def _stats(events: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = next(
        e["event_data"] for e in events if e["event"] == "playbook_on_stats"
    )
    return found


def test_the_installed_collection_runs_the_host_stages_to_the_same_state(
    cluster_lab: RunningLab, runs: Path, tmp_path: Path
) -> None:
    cluster_up(cluster_lab, runs)
    installed = build_and_install(tmp_path)
    env_extra = _no_kubeprimer(tmp_path)
    argv = [
        str(BINDIR / "ansible-playbook"),
        "-i",
        str(cluster_lab.inventory),
        "-e",
        f"kubeprimer_controller_converge_dir={tmp_path / 'converged'}",
        "kubeprimer.cluster.cluster",
    ]
    # Every stage runs (plain Ansible probes nothing) and finds the state cluster.up left.
    done = _runs_like_cluster_up(argv, installed.folder, {**installed.env(), **env_extra})
    output = done.stdout + done.stderr
    changed = recap(done.stdout)
    assert set(changed) >= set(cluster_lab.nodes), output
    assert all(changed[n]["changed"] == 0 for n in cluster_lab.nodes), changed


def test_ansible_runner_laid_out_as_awx_runs_the_project_to_the_same_state(
    cluster_lab: RunningLab, runs: Path, tmp_path: Path
) -> None:
    cluster_up(cluster_lab, runs)
    private = tmp_path / "awx-job"
    project = private / "project"
    project.mkdir(parents=True)
    # What AWX's project sync checks out: the files git tracks, links kept.
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    archive = subprocess.run(
        ["tar", "--null", "--no-recursion", "-T", "-", "-cf", "-"],
        cwd=ROOT,
        input=tracked,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-xf", "-", "-C", str(project)], input=archive, check=True)
    # AWX writes the job's inventory under inventory/; this one is the lab's own folder,
    # whose CA and credentials the run must find beside it, as a site's would be.
    (private / "inventory").symlink_to(cluster_lab.inventory.parent)
    env = private / "env"
    env.mkdir()
    env.joinpath("envvars").write_text(yaml.safe_dump(_no_kubeprimer(tmp_path)))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHONPATH"))}
    argv = [
        str(BINDIR / "ansible-runner"),
        "run",
        str(private),
        "-p",
        "playbooks/cluster.yml",
        "--inventory",
        str(private / "inventory" / cluster_lab.inventory.name),
        "-v",
    ]
    env_all = {**clean, "PATH": f"{BINDIR}:{os.environ.get('PATH', '')}"}
    done = _runs_like_cluster_up(argv, tmp_path, env_all)
    output = done.stdout + done.stderr
    events = [json.loads(p.read_text()) for p in private.glob("artifacts/*/job_events/*.json")]
    stats = _stats(events)
    assert all(stats["changed"].get(n, 0) == 0 for n in cluster_lab.nodes), stats
    assert set(stats["ok"]) >= set(cluster_lab.nodes), stats
    # The project's own ansible.cfg governed the run, as it does for invoke cluster.up.
    assert f"Using {project}/ansible.cfg as config file" in output, output
