"""lab up --user on a real systemd-nspawn node: a passwordless-sudo user, as on bare metal."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubeprimer.errors import UserError
from kubeprimer.lab import lifecycle, node
from kubeprimer.lab.config import LabConfig
from kubeprimer.lab.state import LabDirs
from kubeprimer.paths import ANSIBLE_CFG, ROOT

pytestmark = pytest.mark.integration

NAME = "su"
USER = "deploy"


@pytest.fixture(scope="module")
def sudo_lab(
    lab_config: LabConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[lifecycle.LabStatus, Path]]:
    inventory = tmp_path_factory.mktemp("sudo-lab-inventory")
    status = lifecycle.up(lab_config, NAME, 1, inventory_dir=inventory, user_name=USER)
    try:
        yield status, inventory
    finally:
        lifecycle.down(lab_config, NAME)


def as_user(status: lifecycle.LabStatus, command: str) -> subprocess.CompletedProcess[str]:
    argv = status.ssh_argv(status.nodes[0].address)
    return subprocess.run(
        [*argv[:-1], "-o", "BatchMode=yes", f"{USER}@{status.nodes[0].address}", command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_user_logs_in_with_the_lab_key_and_sudoes_without_a_password(
    sudo_lab: tuple[lifecycle.LabStatus, Path],
) -> None:
    status, _ = sudo_lab
    done = as_user(status, "id -un; sudo -n id -u; stat -c '%a %U' /etc/sudoers.d/kubeprimer-lab")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == [USER, "0", "440 root"], done.stdout


def test_the_inventory_connects_as_the_user_and_root_stays_reachable(
    sudo_lab: tuple[lifecycle.LabStatus, Path],
) -> None:
    status, inventory = sudo_lab
    group_vars = yaml.safe_load((inventory / "group_vars" / "all.yml").read_text())
    assert group_vars["ansible_user"] == USER
    # lab.ssh opens a root shell, as before.
    root = subprocess.run(
        [*status.ssh_argv(status.nodes[0].address), "id -un"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert root.stdout.strip() == "root"
    # Ansible's own escalation (sudo) works for the user without a password.
    ansible = Path(sys.executable).with_name("ansible")
    ping = subprocess.run(
        [str(ansible), "all", "-i", str(inventory / "hosts.yml"), "--become", "-a", "id -un"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_CFG)},
        timeout=120,
        check=False,
    )
    assert ping.returncode == 0 and "root" in ping.stdout, ping.stdout + ping.stderr


def test_a_rerun_with_the_same_user_changes_nothing_and_another_user_is_refused(
    lab_config: LabConfig, sudo_lab: tuple[lifecycle.LabStatus, Path]
) -> None:
    status, inventory = sudo_lab
    dirs = LabDirs(lab_config.state_dir, NAME)
    pids = node.running(dirs)
    sudoers = node.root_dir(dirs, f"{NAME}-1") / "etc/sudoers.d/kubeprimer-lab"
    before = sudoers.stat().st_mtime_ns
    again = lifecycle.up(lab_config, NAME, 1, user_name=USER)
    assert again.plan.user == USER and node.running(dirs) == pids
    assert lifecycle.up(lab_config, NAME, 1).plan.user == USER  # --user left out keeps it
    assert sudoers.stat().st_mtime_ns == before
    with pytest.raises(UserError, match=f"connects as {USER}; run `invoke lab.down --name {NAME}`"):
        lifecycle.up(lab_config, NAME, 1, user_name="other")
    assert (
        yaml.safe_load((inventory / "group_vars" / "all.yml").read_text())["ansible_user"] == USER
    )
    assert as_user(status, "getent passwd other").returncode == 2
