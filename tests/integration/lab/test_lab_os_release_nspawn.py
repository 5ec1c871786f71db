"""lab up --os trixie on a real systemd-nspawn node: Debian 13 over SSH, as root and as
a sudo user; the node's release is fixed, and a re-run says so instead of rebuilding."""

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

pytestmark = pytest.mark.integration

NAME = "trx"
USER = "deploy"


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args, "--name", NAME],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def trixie_lab(lab_config: LabConfig) -> Iterator[lifecycle.LabStatus]:
    up = invoke("lab.up", "--nodes", "1", "--os", "trixie", "--user", USER)
    try:
        assert up.returncode == 0, up.stderr
        yield lifecycle.status(lab_config, NAME)
    finally:
        lifecycle.down(lab_config, NAME)


def ssh(status: lifecycle.LabStatus, user: str, command: str) -> str:
    argv = status.ssh_argv(status.nodes[0].address)
    done = subprocess.run(
        [*argv[:-1], "-o", "BatchMode=yes", f"{user}@{status.nodes[0].address}", command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("user", ["root", USER])
def test_the_node_runs_debian_13_for_root_and_the_sudo_user(
    trixie_lab: lifecycle.LabStatus, user: str
) -> None:
    release = dict(
        line.split("=", 1)
        for line in ssh(trixie_lab, user, "cat /etc/os-release").splitlines()
        if "=" in line
    )
    assert (release["ID"], release["VERSION_ID"]) == ("debian", '"13"')
    assert release["VERSION_CODENAME"] == "trixie"
    assert ssh(trixie_lab, user, "sudo -n systemctl is-system-running --wait").strip() == "running"


def test_status_shows_the_release_and_a_rerun_keeps_it(trixie_lab: lifecycle.LabStatus) -> None:
    shown = json.loads(invoke("lab.status", "--json").stdout)
    assert [n["os"] for n in shown["nodes"]] == ["trixie"]
    again = invoke("lab.up", "--nodes", "1")
    assert again.returncode == 0, again.stderr
    assert "trixie" in again.stdout


def test_another_release_for_a_node_is_refused_with_what_to_do(
    trixie_lab: lifecycle.LabStatus, lab_config: LabConfig
) -> None:
    record = (Path(lab_config.state_dir) / NAME / "lab.json").read_text()
    refused = invoke("lab.up", "--nodes", "1", "--os", "bookworm")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"error: Lab {NAME} runs trixie on {NAME}-1, and --os asks for another release on "
        f"{NAME}-1; run `invoke lab.down --name {NAME}` first to make the nodes again, "
        "or leave out --os."
    )
    assert (Path(lab_config.state_dir) / NAME / "lab.json").read_text() == record
    assert lifecycle.status(lab_config, NAME).nodes[0].os == "trixie"
