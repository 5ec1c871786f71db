"""A real OpenSSH server on a loopback port: the SFTP backup target of the tests.

The client key is restricted in authorized_keys exactly as the etcd_backup role
restricts it on a backup host: no shell, only the SFTP server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .cluster import free_port

SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")


def missing() -> str:
    """Why this machine cannot run the server, or an empty string."""
    if not SSHD.exists() or not SFTP_SERVER.exists() or shutil.which("ssh") is None:
        return "openssh-server is not installed: run scripts/setup --test"
    if os.geteuid() != 0:
        return "sshd needs root to run"
    return ""


@dataclass
class SftpTarget:
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def client_key(self) -> Path:
        return self.root / "client_key"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    def ssh_argv(self, destination: str = "root@127.0.0.1") -> list[str]:
        """The ssh command as the etcd_backup role writes it: an argument list."""
        return [
            "ssh",
            "-p",
            str(self.port),
            "-i",
            str(self.client_key),
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "--",
            destination,
            "-s",
            "sftp",
        ]

    def ssh_command(self) -> str:
        return " ".join(a for a in self.ssh_argv() if a != "--")

    def repository(self, path: Path) -> str:
        return f"sftp:root@127.0.0.1:{path}"

    @classmethod
    def create(cls, root: Path) -> SftpTarget:
        root.mkdir(parents=True)
        target = cls(root, free_port())
        for name in ("host_key", "client_key"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True
            )
        public = (root / "client_key.pub").read_text().strip()
        (root / "authorized_keys").write_text(f'restrict,command="{SFTP_SERVER}" {public}\n')
        host_public = " ".join((root / "host_key.pub").read_text().split()[:2])
        target.known_hosts.write_text(f"[127.0.0.1]:{target.port} {host_public}\n")
        (root / "sshd_config").write_text(
            "\n".join(
                [
                    f"Port {target.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {root / 'host_key'}",
                    f"AuthorizedKeysFile {root / 'authorized_keys'}",
                    f"PidFile {root / 'sshd.pid'}",
                    "StrictModes no",
                    "UsePAM no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    f"Subsystem sftp {SFTP_SERVER}",
                    "",
                ]
            )
        )
        return target

    def start(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.root / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "sshd.log", "ab"),  # noqa: SIM115 - lives with sshd
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            probe = subprocess.run(
                ["ssh-keyscan", "-p", str(self.port), "127.0.0.1"], capture_output=True, check=False
            )
            if probe.returncode == 0 and probe.stdout:
                return
            time.sleep(0.2)
        raise AssertionError("sshd did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
