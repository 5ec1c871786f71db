"""Stand-in hosts on this machine: one private mount namespace per host, in which /etc
and /var are copy-on-write overlays. Ansible reaches a host by running its modules
through ``nsenter`` into that namespace, so every host has its own /etc/kubernetes,
and whatever the roles write lands in the host's overlay folder where a test can
read all of it. Needs root (unshare, mount, nsenter)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

OVERLAID = ("etc", "var")


@dataclass(frozen=True)
class FakeHost:
    name: str
    pid: int
    upper: Path  # <upper>/etc and <upper>/var hold every file written on the host

    def run(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["nsenter", f"--target={self.pid}", "--mount", *cmd],
            capture_output=True,
            text=True,
            check=False,
        )

    def read(self, path: str) -> str:
        done = self.run("cat", path)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def mode(self, path: str) -> str:
        return self.run("stat", "-c", "%a", path).stdout.strip()

    def exists(self, path: str) -> bool:
        return self.run("test", "-e", path).returncode == 0

    def interpreter(self, folder: Path) -> Path:
        """A python3 that runs inside this host (Ansible takes one path, no arguments)."""
        path = folder / f"python-{self.name}"
        path.write_text(
            f'#!/bin/sh\nexec nsenter --target={self.pid} --mount /usr/bin/python3 "$@"\n'
        )
        path.chmod(0o755)
        return path


def missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "needs root for mount namespaces"
    for tool in ("unshare", "nsenter", "setsid"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/usr/bin/python3").exists():
        return "/usr/bin/python3 is missing"
    return None


def start(name: str, base: Path) -> FakeHost:
    upper = base / name
    mounts = []
    for top in OVERLAID:
        (upper / top).mkdir(parents=True)
        (base / ".work" / name / top).mkdir(parents=True)
        mounts.append(
            f"mount -t overlay overlay -o lowerdir=/{top},upperdir={upper / top},"
            f"workdir={base / '.work' / name / top} /{top}"
        )
    ready = base / f".{name}.ready"
    script = " && ".join([*mounts, f"touch {ready}", "exec sleep 3600"])
    proc = subprocess.Popen(
        ["setsid", "unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 10
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"fake host {name} did not start: {proc.stderr.read() if proc.stderr else ''}"
            )
        time.sleep(0.05)
    return FakeHost(name, proc.pid, upper)


def stop(host: FakeHost) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(host.pid, signal.SIGTERM)
