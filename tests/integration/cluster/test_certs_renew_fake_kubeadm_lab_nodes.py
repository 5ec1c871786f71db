"""cluster.certs and cluster.certs --renew on lab nodes (real systemd and SSH), with
tests/doubles/fake-kubeadm in place of kubeadm and tests/doubles/fake-static-pods in
place of kubelet running kube-apiserver as a static pod (neither can run here).

Three nodes are control planes holding a kubeadm PKI made here whose certificates expire
in 5 days (the third with a kubelet client certificate too), and a worker in the
inventory never answers. The listing reads them over SSH, marks the dead host and exits
1; --renew without a terminal or --yes exits 2 and touches nothing; a renewal killed on
the second control plane is finished by the next run, which renews nothing twice; each
API server stopped and started again on its new certificate, the second only after the
first answered /readyz; a run of the playbook with the same start time changes nothing.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubeprimer.paths import ROOT
from tests.integration.conftest import RunningLab
from tests.programs import BINDIR, run_playbook, run_program

from .conftest import recap

pytestmark = pytest.mark.integration

DOUBLES = ROOT / "tests" / "doubles"
UNIT = "fake-static-pods"
EVENTS = "/var/lib/fake-static-pods/events.jsonl"
CALLS = "/var/lib/fake-kubeadm/calls.jsonl"
MANIFESTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
# What the test puts on the nodes, and removes again: the session lab is shared.
LEFTOVERS = (
    "/etc/kubernetes",
    "/var/lib/kubelet",
    "/var/lib/fake-kubeadm",
    "/var/lib/fake-static-pods",
    "/usr/local/bin/kubeadm",
    f"/usr/local/bin/{UNIT}",
    f"/etc/systemd/system/{UNIT}.service",
)
NOW = datetime.now(UTC)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@dataclass
class Issuer:
    common: str
    key: ec.EllipticCurvePrivateKey
    cert: bytes

    @classmethod
    def new(cls, common: str) -> Issuer:
        key = _key()
        issuer = cls(common, key, b"")
        issuer.cert = issuer.sign(common, key, days=3650, ca=True)
        return issuer

    def sign(
        self,
        common: str,
        key: ec.EllipticCurvePrivateKey,
        days: float,
        ca: bool = False,
        addresses: tuple[str, ...] = (),
    ) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(_name(self.common))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=360))
            .not_valid_after(NOW + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if addresses:
            names = [x509.IPAddress(ip_address(a)) for a in addresses]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def control_plane_files(address: str, cas: dict[str, Issuer]) -> dict[str, bytes]:
    """A kubeadm control plane's PKI, kubeconfigs and static pod manifests, leaves
    expiring in 5 days."""
    files: dict[str, bytes] = {}
    for name, ca in cas.items():
        files[f"/etc/kubernetes/pki/{name}.crt"] = ca.cert
        files[f"/etc/kubernetes/pki/{name}.key"] = _pem_key(ca.key)
    leaves = {
        "apiserver": "ca",
        "apiserver-kubelet-client": "ca",
        "front-proxy-client": "front-proxy-ca",
        "apiserver-etcd-client": "etcd/ca",
        "etcd/server": "etcd/ca",
        "etcd/peer": "etcd/ca",
        "etcd/healthcheck-client": "etcd/ca",
    }
    for leaf, ca_name in leaves.items():
        key = _key()
        files[f"/etc/kubernetes/pki/{leaf}.key"] = _pem_key(key)
        files[f"/etc/kubernetes/pki/{leaf}.crt"] = cas[ca_name].sign(
            leaf, key, days=5, addresses=(address, "127.0.0.1")
        )
    for conf in ("admin", "super-admin", "controller-manager", "scheduler"):
        key = _key()
        user = {
            "client-certificate-data": base64.b64encode(cas["ca"].sign(conf, key, 5)).decode(),
            "client-key-data": base64.b64encode(_pem_key(key)).decode(),
        }
        files[f"/etc/kubernetes/{conf}.conf"] = yaml.safe_dump(
            {"apiVersion": "v1", "kind": "Config", "users": [{"name": conf, "user": user}]}
        ).encode()
    files["/etc/kubernetes/kubelet.conf"] = b"apiVersion: v1\nkind: Config\n"
    for manifest in MANIFESTS:
        files[f"/etc/kubernetes/manifests/{manifest}.yaml"] = b"# static pod\n"
    return files


def install(lab: RunningLab, node: str, files: dict[str, bytes]) -> None:
    """Every file at once through tar over SSH (mode 0644 as kubeadm writes certificates;
    keys and kubeconfigs 0600)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for path, content in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size = len(content)
            private = path.endswith((".key", ".conf")) or "private" in path
            info.mode = 0o755 if "/bin/" in path else 0o600 if private else 0o644
            tar.addfile(info, io.BytesIO(content))
    done = subprocess.run(
        [*lab.ssh_args(node), "tar -x -C / --no-same-owner"],
        input=data.getvalue(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def lines(lab: RunningLab, node: str, path: str) -> list[dict[str, Any]]:
    text = lab.ssh(node, f"cat {path} 2>/dev/null || true").stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class Site:
    lab: RunningLab
    inventory: Path
    control_planes: list[str]

    def invoke(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return run_program("invoke", *argv, "-i", str(self.inventory), timeout=600)

    def renewals(self, node: str) -> int:
        return sum(c["argv"][:3] == ["certs", "renew", "all"] for c in lines(self.lab, node, CALLS))

    def events(self, node: str) -> list[dict[str, Any]]:
        return lines(self.lab, node, EVENTS)


@pytest.fixture
def site(lab: RunningLab, tmp_path: Path) -> Iterator[Site]:
    if len(lab.nodes) < 3:
        pytest.skip("needs a lab of three nodes")
    control_planes = lab.nodes[:3]
    source = lab.inventory.parent
    folder = tmp_path / "inventory"
    (folder / "group_vars").mkdir(parents=True)
    shutil.copy(source / "known_hosts", folder / "known_hosts")
    settings = yaml.safe_load((source / "group_vars" / "all.yml").read_text())
    settings.update(
        # Short waits: the double's API server stops and starts within a second.
        kubeadm_certs_renew_file_check_seconds=1,
        kubeadm_apiserver_ready_delay=1,
        kubeadm_apiserver_ready_retries=20,
        # A free address: the endpoint is a virtual IP, never a host's own.
        kube_api_endpoint=f"{ip_address(lab.address(lab.nodes[-1])) + 101}:8443",
    )
    (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    # A host that never answers: an address of the lab's subnet that no node has.
    last = ip_address(lab.address(lab.nodes[-1]))
    hosts = {n: {"ansible_host": lab.address(n)} for n in lab.nodes[:3]}
    hosts["gone"] = {"ansible_host": str(last + 100)}
    inventory = {
        "all": {
            "hosts": hosts,
            "children": {
                "kube_control_plane": {"hosts": dict.fromkeys(control_planes)},
                "etcd": {"hosts": dict.fromkeys(control_planes)},
                "kube_node": {"hosts": {"gone": None}},
            },
        }
    }
    (folder / "hosts.yml").write_text(yaml.safe_dump(inventory))
    cas = {
        n: Issuer.new(c)
        for n, c in (
            ("ca", "kubernetes"),
            ("front-proxy-ca", "front-proxy-ca"),
            ("etcd/ca", "etcd-ca"),
        )
    }
    binaries = {
        "/usr/local/bin/kubeadm": (DOUBLES / "fake-kubeadm").read_bytes(),
        f"/usr/local/bin/{UNIT}": (DOUBLES / UNIT).read_bytes(),
    }
    try:
        for node in control_planes:
            address = lab.address(node)
            unit = f"[Service]\nExecStart=/usr/bin/python3 /usr/local/bin/{UNIT} {address} 6443\n"
            install(
                lab,
                node,
                {
                    **control_plane_files(address, cas),
                    **binaries,
                    f"/etc/systemd/system/{UNIT}.service": unit.encode(),
                },
            )
            lab.ssh(node, f"systemctl daemon-reload && systemctl start {UNIT}")
        key = _key()
        node = control_planes[-1]
        kubelet = cas["ca"].sign(f"system:node:{node}", key, 300) + _pem_key(key)
        install(lab, node, {"/var/lib/kubelet/pki/kubelet-client-current.pem": kubelet})
        yield Site(lab, folder / "hosts.yml", control_planes)
    finally:
        for node in lab.nodes[:3]:
            lab.ssh(
                node,
                f"systemctl stop {UNIT} 2>/dev/null; rm -rf {' '.join(LEFTOVERS)}; "
                "systemctl daemon-reload",
                check=False,
            )


def rows(done: subprocess.CompletedProcess[str]) -> dict[tuple[str, str], dict[str, Any]]:
    data = json.loads(done.stdout)
    return {(r["host"], r["certificate"]): r for r in data["certificates"]}


def newest_run(label: str) -> Path:
    return max((ROOT / ".runs").glob(f"*-{label}"), key=lambda p: p.name)


def test_certs_listed_then_renewed_one_control_plane_at_a_time_and_a_killed_run_finished(
    site: Site,
) -> None:
    cp2, cp3 = site.control_planes[1:]
    listed = site.invoke("cluster.certs", "--json", "--timeout", "5")
    assert listed.returncode == 1, listed.stderr[-3000:]
    before = rows(listed)
    for node in site.control_planes:
        assert before[(node, "apiserver")]["days_left"] == 4
        assert before[(node, "admin.conf")]["issuer"] == "kubernetes"
        assert before[(node, "etcd/peer")]["issuer"] == "etcd-ca"
        assert before[(node, "ca (CA)")]["days_left"] >= 3649
    assert before[(cp3, "kubelet client")]["subject"] == f"system:node:{cp3}"
    assert before[("gone", "(all)")]["status"] == "unreachable"
    # Only certificates left the hosts: no private key in the run's records.
    records = newest_run("certs")
    texts = [p.read_text(errors="replace") for p in records.rglob("*") if p.is_file()]
    assert any("BEGIN CERTIFICATE" in t for t in texts)
    assert not any("PRIVATE KEY" in t for t in texts)

    refused = site.invoke("cluster.certs", "--renew")
    assert refused.returncode == 2, refused.stderr
    assert "add --yes" in refused.stderr and "Traceback" not in refused.stderr
    assert [site.renewals(n) for n in site.control_planes] == [0, 0, 0]

    # Killed while the second control plane's API server is stopped.
    killed = subprocess.Popen(
        [str(BINDIR / "invoke"), "cluster.certs", "--renew", "--yes", "-i", str(site.inventory)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 1200
    while not any(e["event"] == "stop" for e in site.events(cp2)):
        assert killed.poll() is None, "the renewal ended before the second control plane stopped"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    kill_started_from(str(site.inventory))
    pending = site.inventory.parent / "artifacts" / "certs-renewal"
    assert pending.is_file()

    finished = site.invoke("cluster.certs", "--renew", "--yes")
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-2000:]
    stamp = pending_stamp(finished.stdout)
    assert not pending.exists()
    # Renewed once each: the re-run did not renew the first control plane again.
    assert [site.renewals(n) for n in site.control_planes] == [1, 1, 1]
    for node in site.control_planes:
        events = site.events(node)
        assert [e["event"] for e in events][:3] == ["start", "stop", "start"], events
        served = lab_sha256(site.lab, node, "/etc/kubernetes/pki/apiserver.crt")
        assert events[-1]["cert_sha256"] == served != events[0]["cert_sha256"]
        listing = site.lab.ssh(node, "ls /etc/kubernetes/manifests").stdout.split()
        assert listing == [f"{m}.yaml" for m in MANIFESTS]
        modes = site.lab.ssh(node, "find /etc/kubernetes -type f ! -perm 600").stdout
        assert modes == ""
    # Each API server stopped only after the one before started again and was ready.
    for before_node, after_node in itertools.pairwise(site.control_planes):
        back = [e for e in site.events(before_node) if e["event"] == "start"][1]["time"]
        stopped = next(e for e in site.events(after_node) if e["event"] == "stop")["time"]
        assert back < stopped, (before_node, after_node)

    admin = site.inventory.parent / "artifacts" / "admin.conf"
    assert oct(admin.stat().st_mode & 0o777) == "0o600"
    embedded = yaml.safe_load(admin.read_text())["users"][0]["user"]["client-certificate-data"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(embedded))
    assert cert.not_valid_after_utc > NOW + timedelta(days=360)

    again = run_playbook(
        [
            "-i",
            str(site.inventory),
            "playbooks/certs_renew.yml",
            "-e",
            f"kubeprimer_certs_renewed_after={stamp}",
        ]
    )
    assert again.returncode == 0, again.stdout[-4000:]
    changed = {h: r["changed"] for h, r in recap(again.stdout).items()}
    assert changed == dict.fromkeys(site.control_planes, 0), again.stdout[-4000:]

    after = rows(site.invoke("cluster.certs", "--json", "--timeout", "5"))
    for node in site.control_planes:
        assert after[(node, "apiserver")]["days_left"] == 364
        assert after[(node, "scheduler.conf")]["days_left"] == 364


def pending_stamp(stdout: str) -> str:
    marker = "Finishing the renewal begun at "
    assert marker in stdout, stdout[-3000:]
    return stdout.split(marker, 1)[1].split()[0]


def lab_sha256(lab: RunningLab, node: str, path: str) -> str:
    return lab.ssh(node, f"sha256sum {path}").stdout.split()[0]


def kill_started_from(marker: str) -> None:
    """ansible-runner runs ansible-playbook in a session of its own (a pty), out of reach
    of the task's process group: kill the processes this test started, found by the
    inventory path only they carry on their command line."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(marker.encode() in arg for arg in argv):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)
