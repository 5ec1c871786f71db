"""The kubeadm role restarts kube-apiserver one control plane at a time: three stand-in
control planes (mount namespaces) with tests/doubles/fake-crictl in place of crictl and
a fake /readyz endpoint per host, over HTTPS on the host's own loopback address, that
answers 503 for a moment after each stop (the time kubelet takes to start the container
again). The restarts never overlap, each waits for its host's /readyz, a second run
restarts nothing, and a host that does not become ready stops the run, named, before the
next host restarts; the next run restarts the hosts still to do, and only those."""

from __future__ import annotations

import itertools
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.paths import ANSIBLE_CFG, ROLES, ROOT

from .conftest import recap
from .hosts import FakeHost, missing_tools, start, stop
from .tls_api import _self_signed

pytestmark = pytest.mark.integration

FAKE_CRICTL = ROOT / "tests" / "doubles" / "fake-crictl"
HOSTS = {"cp1": "127.0.0.11", "cp2": "127.0.0.12", "cp3": "127.0.0.13"}
# How long the fake API server stays unready after its container is stopped.
RESTART_SECONDS = 1.5
PLAY = [
    {
        "name": "Write the control-plane hardening files",
        "hosts": "kube_control_plane",
        "gather_facts": False,
        "become": True,
        "roles": ["kube_defaults"],
        "tasks": [
            {
                "name": "Audit policy and encryption configuration",
                "ansible.builtin.import_role": {"name": "kubeadm", "tasks_from": "install.yml"},
            }
        ],
    }
]


@dataclass
class ControlPlanes:
    hosts: dict[str, FakeHost]
    workdir: Path
    port: int
    broken: set[str] = field(default_factory=set)
    # host -> times /readyz answered 200 after a stop
    ready_at: dict[str, list[float]] = field(default_factory=dict)

    def stopped_at(self, host: str) -> float | None:
        path = self.hosts[host].upper / "var/lib/fake-crictl/stopped-at"
        return float(path.read_text()) if path.exists() else None

    def stops(self, host: str) -> list[dict[str, Any]]:
        path = self.hosts[host].upper / "var/lib/fake-crictl/calls.jsonl"
        calls = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
        return [c for c in calls if "stop" in c["argv"]]

    def play(
        self, playbook: Path | None = None, **extravars: Any
    ) -> subprocess.CompletedProcess[str]:
        """PLAY, or ``playbook`` (one of the project's), on the three hosts."""
        inventory = {
            "all": {
                "vars": {"ansible_connection": "local", "kube_api_port": self.port},
                "children": {
                    "kube_control_plane": {
                        "hosts": {
                            name: {
                                "ansible_host": HOSTS[name],
                                "ansible_python_interpreter": str(host.interpreter(self.workdir)),
                            }
                            for name, host in self.hosts.items()
                        }
                    }
                },
            }
        }
        (self.workdir / "hosts.yml").write_text(yaml.safe_dump(inventory))
        (self.workdir / "play.yml").write_text(yaml.safe_dump(PLAY))
        # Short waits: the fake API server is ready again within RESTART_SECONDS.
        extra = {
            "__kubeadm_apiserver_ready_delay": 1,
            "__kubeadm_apiserver_ready_retries": 4,
            **extravars,
        }
        (self.workdir / "extra.yml").write_text(yaml.safe_dump(extra))
        bindir = self.workdir / "bin"
        env = {
            **os.environ,
            "PATH": f"{bindir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
            "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
            "ANSIBLE_ROLES_PATH": str(ROLES),
            "ANSIBLE_NOCOLOR": "1",
            # The project's playbooks gather facts; these hosts' addresses are given.
            "ANSIBLE_GATHERING": "explicit",
        }
        cmd = [
            "ansible-playbook",
            "-i",
            "hosts.yml",
            "-e",
            "@extra.yml",
            str(playbook or "play.yml"),
        ]
        return subprocess.run(
            cmd, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=300
        )


def readyz_server(planes: ControlPlanes, host: str, crt: Path, key: Path) -> ThreadingHTTPServer:
    class Readyz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stopped = planes.stopped_at(host)
            restarting = stopped is not None and (
                host in planes.broken or time.time() - stopped < RESTART_SECONDS
            )
            if self.path != "/readyz" or restarting:
                self.send_response(404 if self.path != "/readyz" else 503)
                self.end_headers()
                return
            if stopped is not None:
                planes.ready_at.setdefault(host, []).append(time.time())
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((HOSTS[host], planes.port), Readyz)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(crt, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


@pytest.fixture
def planes(tmp_path: Path) -> Iterator[ControlPlanes]:
    reason = missing_tools()
    if reason:
        pytest.skip(f"stand-in hosts unavailable: {reason}")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "crictl").symlink_to(FAKE_CRICTL)
    hosts: dict[str, FakeHost] = {}
    servers: list[ThreadingHTTPServer] = []
    try:
        for name in HOSTS:
            hosts[name] = start(name, tmp_path / "hosts")
        with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as probe:
            port = probe.server_address[1]
        result = ControlPlanes(hosts, tmp_path, port)
        for name, host in hosts.items():
            folder = tmp_path / "tls" / name
            folder.mkdir(parents=True)
            crt, key = _self_signed(folder, HOSTS[name])
            # The self-signed certificate is its own CA: the role trusts the cluster CA.
            pki = host.upper / "etc/kubernetes/pki"
            pki.mkdir(parents=True)
            # The role's configuration folder (tasks/configure.yml) holds the restart mark.
            (host.upper / "etc/kubernetes/kubeadm").mkdir()
            (pki / "ca.crt").write_bytes(crt.read_bytes())
            server = readyz_server(result, name, crt, key)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        yield result
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        for host in hosts.values():
            stop(host)


def test_apiserver_restarts_one_control_plane_at_a_time_each_ready_before_the_next(
    planes: ControlPlanes,
) -> None:
    first = planes.play()
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]

    assert [len(planes.stops(h)) for h in HOSTS] == [1, 1, 1]
    order = sorted(HOSTS, key=lambda h: planes.stops(h)[0]["time"])
    for before, after in itertools.pairwise(order):
        # The next stop began only after the previous host answered /readyz again.
        assert before in planes.ready_at, f"{after} restarted without waiting for {before}"
        assert planes.ready_at[before][0] <= planes.stops(after)[0]["time"], (before, after)
        assert planes.stops(before)[0]["end"] <= planes.stops(after)[0]["time"]

    second = planes.play()
    assert second.returncode == 0, second.stdout[-4000:]
    assert {h: r["changed"] for h, r in recap(second.stdout).items()} == dict.fromkeys(HOSTS, 0)
    assert [len(planes.stops(h)) for h in HOSTS] == [1, 1, 1]


def test_a_control_plane_that_does_not_become_ready_stops_the_run_before_the_next(
    planes: ControlPlanes,
) -> None:
    planes.broken.add("cp2")
    run = planes.play()
    assert run.returncode != 0
    assert "kube-apiserver on cp2 did not answer" in run.stdout, run.stdout[-4000:]
    assert len(planes.stops("cp1")) == 1
    assert len(planes.stops("cp2")) == 1
    assert planes.stops("cp3") == []

    # Fixed, the next run restarts what is still to do, and only that.
    planes.broken.clear()
    again = planes.play()
    assert again.returncode == 0, again.stdout[-4000:]
    assert [len(planes.stops(h)) for h in HOSTS] == [1, 2, 1]
    assert planes.ready_at["cp2"][0] <= planes.stops("cp3")[0]["time"]
    pending = "etc/kubernetes/kubeadm/kube-apiserver-restart.pending"
    assert not any((h.upper / pending).exists() for h in planes.hosts.values())
