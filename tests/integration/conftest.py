"""Integration fixtures shared by every area: a running lab of real systemd hosts.

``lab`` (session scope) boots three systemd-nspawn nodes (Debian 12, systemd, sshd)
on a private bridge once for the whole test session and removes them at the end.
Tests reach the nodes over SSH as root, the way Ansible and Fabric do on bare metal::

    def test_something(lab: RunningLab) -> None:
        lab.ssh(lab.nodes[0], "systemctl is-system-running")
        subprocess.run(["ansible-playbook", "-i", str(lab.inventory), ...])

Set KUBEPRIMER_TEST_LAB=<name> to use a lab that is already up (it is then left up).
KUBEPRIMER_TEST_LAB_OS picks the nodes' Debian releases in `lab.up --os`'s grammar
(``trixie``, or ``bookworm,trixie`` for a mix nodes take in turn); without it they run
``kubeprimer.lab_suite``. Tests using it skip with a reason when the host cannot boot
lab nodes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubeprimer.lab import host, lifecycle, plan
from kubeprimer.lab.config import RELEASES, LabConfig

LAB_SIZE = 3
OS_ENV = "KUBEPRIMER_TEST_LAB_OS"
# Every supported release, nodes taking them in turn: labs whose tests cover both
# releases in one run (the cluster end to end).
MIXED = list(RELEASES)


# The long lab tests (marked `slow`) run only with this set: each replays a day-2 story
# under load for minutes, which would take CI past its time budget. docs/development.md,
# "Slow lab tests", lists them.
SLOW_ENV = "KUBEPRIMER_TEST_SLOW"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(SLOW_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"slow lab test: run it with {SLOW_ENV}=1")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)


def session_lab_releases() -> list[str] | None:
    """The session lab's releases (KUBEPRIMER_TEST_LAB_OS), or None for the default."""
    given = os.environ.get(OS_ENV)
    return plan.parse_os(given) if given else None


def lab_unavailable() -> str | None:
    """Why this host cannot boot lab nodes, or None when it can."""
    if os.geteuid() != 0:
        return "lab nodes need root (systemd-nspawn, bridges, mounts)"
    missing = sorted({pkg for tool, pkg in host.TOOLS.items() if shutil.which(tool) is None})
    if missing:
        return f"lab tools missing; install the Debian packages {' '.join(missing)}"
    return None


@dataclass
class RunningLab:
    config: LabConfig
    status: lifecycle.LabStatus
    inventory: Path

    @property
    def name(self) -> str:
        return self.status.plan.name

    @property
    def nodes(self) -> list[str]:
        return [n.name for n in self.status.nodes]

    def release(self, node: str) -> str:
        """The node's Debian release (bookworm, trixie)."""
        return next(n.os for n in self.status.nodes if n.name == node)

    def address(self, node: str) -> str:
        return next(n.address for n in self.status.nodes if n.name == node)

    def ssh_args(self, node: str) -> list[str]:
        argv = self.status.ssh_argv(self.address(node))
        return [*argv[:-1], "-o", "BatchMode=yes", argv[-1]]

    def ssh(
        self, node: str, command: str, *, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command on a node as root; output is captured as text."""
        done = subprocess.run(
            [*self.ssh_args(node), command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{node}: {command!r} exited {done.returncode}: {done.stderr.strip()[-2000:]}"
            )
        return done


@pytest.fixture(scope="session")
def lab_config() -> LabConfig:
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    return LabConfig()


@pytest.fixture(scope="session")
def lab(lab_config: LabConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    given = os.environ.get("KUBEPRIMER_TEST_LAB")
    name = given or f"it{os.getpid() % 100000}"
    inventory_dir = tmp_path_factory.mktemp("lab-inventory")
    if given:
        status = lifecycle.status(lab_config, name)
        inventory_dir = status.inventory.parent if status.inventory else inventory_dir
    else:
        status = lifecycle.up(
            lab_config, name, LAB_SIZE, inventory_dir=inventory_dir, releases=session_lab_releases()
        )
    try:
        yield RunningLab(lab_config, status, inventory_dir / "hosts.yml")
    finally:
        if not given:
            lifecycle.down(lab_config, name)
