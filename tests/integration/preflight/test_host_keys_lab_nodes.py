"""SSH host keys on real lab nodes (OpenSSH client and sshd): the lab's inventory
carries every node's key, a replaced key stops cluster.check and a playbook run with
exit 3 before anything runs, and the command the sentence gives makes both work again."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kubeprimer.ansible import hostkeys
from kubeprimer.inventory import load
from kubeprimer.lab import node
from kubeprimer.lab.state import LabDirs
from kubeprimer.paths import ROOT
from tests.integration.preflight.test_check_on_lab_nodes import invoke

pytestmark = pytest.mark.integration


def copy_inventory(lab: Any, to: Path) -> Path:
    """The lab's inventory with its own known_hosts, so a test can change what it trusts."""
    for name in ("hosts.yml", "known_hosts"):
        shutil.copy(lab.inventory.parent / name, to / name)
    (to / "group_vars").symlink_to(lab.inventory.parent / "group_vars")
    return to / "hosts.yml"


def test_lab_inventory_carries_every_node_key(lab: Any, tmp_path: Path) -> None:
    known = hostkeys.known_hosts(lab.inventory)
    text = known.read_text()
    assert all(lab.address(n) in text for n in lab.nodes), text
    hosts = copy_inventory(lab, tmp_path)
    done = invoke("cluster.check", "-i", str(hosts))
    assert done.returncode == 0, done.stdout + done.stderr
    # Nothing was trusted on first use: the lab wrote every key when it made the nodes.
    assert "Recorded the SSH host key" not in done.stdout
    assert (tmp_path / "known_hosts").read_text() == text


def test_first_contact_records_the_key_and_says_so(lab: Any, tmp_path: Path) -> None:
    hosts = copy_inventory(lab, tmp_path)
    (tmp_path / "known_hosts").write_text("")
    done = invoke("cluster.check", "-i", str(hosts))
    assert done.returncode == 0, done.stdout + done.stderr
    flat = " ".join(done.stdout.split())
    for name in lab.nodes:
        assert f"Recorded the SSH host key of {name} ({lab.address(name)}) in" in flat
    recorded = (tmp_path / "known_hosts").read_text()
    assert all(lab.address(n) in recorded for n in lab.nodes)


def replace_host_key(lab: Any, name: str, key: Path, scratch: Path) -> str:
    """Put ``key`` in the node as its sshd host key and restart sshd; the public key."""
    root = node.root_dir(LabDirs(lab.config.state_dir, lab.name), name)
    public = key.with_suffix(".pub").read_text()
    (root / "etc/ssh/ssh_host_ed25519_key").write_text(key.read_text())
    (root / "etc/ssh/ssh_host_ed25519_key.pub").write_text(public)
    # sshd reads its key afresh for each connection: the restart's connection checks the new one.
    trusted = scratch / f"restart-{name}-known_hosts"
    trusted.write_text(f"{lab.address(name)} {' '.join(public.split()[:2])}\n")
    argv = lab.ssh_args(name)
    argv[argv.index(f"UserKnownHostsFile={lab.status.known_hosts}")] = (
        f"UserKnownHostsFile={trusted}"
    )
    subprocess.run([*argv, "systemctl restart ssh"], check=True, capture_output=True, timeout=60)
    return public


def test_replaced_host_key_stops_check_and_playbook_until_accepted(
    lab: Any, tmp_path: Path
) -> None:
    # An etcd member: the playbook run below (etcd.list) reaches only the etcd group.
    victim = next(h.name for h in load(lab.inventory).group("etcd"))
    hosts = copy_inventory(lab, tmp_path)
    # The lab keeps each node's own key in its state folder: the way back.
    original = LabDirs(lab.config.state_dir, lab.name).node(victim) / "ssh_host_ed25519_key"
    new = tmp_path / "new" / "key"
    new.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(new)], check=True)
    replace_host_key(lab, victim, new, tmp_path)
    try:
        check = invoke("cluster.check", "-i", str(hosts))
        assert check.returncode == 3, check.stdout + check.stderr
        flat = " ".join(check.stdout.split())
        assert f"The SSH host key of {victim} ({lab.address(victim)}) differs" in flat
        play = invoke("etcd.list", "-i", str(hosts))
        assert play.returncode == 3, play.stdout + play.stderr
        # Stopped before the playbook's first play, on every host.
        assert "PLAY List etcd backups" not in play.stdout
        assert f"The SSH host key of {victim}" in " ".join(play.stdout.split())

        command = re.search(r"`(ssh-keygen -R [^`]+)`", flat)
        assert command, flat
        subprocess.run(command.group(1), shell=True, check=True, cwd=ROOT, capture_output=True)
        again = invoke("cluster.check", "-i", str(hosts))
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"Recorded the SSH host key of {victim}" in " ".join(again.stdout.split())
        play = invoke("etcd.list", "-i", str(hosts))
        assert "PLAY List etcd backups" in play.stdout, play.stdout
        assert "differs from the one recorded" not in play.stdout
        # The run's log keeps one recap, the playbook's, as tools reading it expect.
        log = re.search(r"Log of this run: (\S+)", play.stdout)
        assert log, play.stdout
        recaps = [
            p
            for p in Path(log.group(1)).glob("artifacts/*/job_events/*.json")
            if json.loads(p.read_text())["event"] == "playbook_on_stats"
        ]
        assert len(recaps) == 1, recaps
    finally:
        replace_host_key(lab, victim, original, tmp_path)


def test_a_read_only_inventory_refuses_a_host_it_has_no_key_for(lab: Any, tmp_path: Path) -> None:
    """First contact cannot be recorded there: trusting the host anyway would trust
    whatever answers, on every run, with nothing to compare against."""
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    hosts = copy_inventory(lab, inventory)
    stranger = lab.nodes[-1]
    known = inventory / "known_hosts"
    kept = [line for line in known.read_text().splitlines() if lab.address(stranger) not in line]
    known.write_text("\n".join(kept) + "\n")
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    subprocess.run(["mount", "--bind", str(inventory), str(read_only)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(read_only)], check=True)
        check = invoke("cluster.check", "-i", str(read_only / hosts.name))
    finally:
        subprocess.run(["umount", str(read_only)], check=True)
    assert check.returncode == 3, check.stdout + check.stderr
    flat = " ".join(check.stdout.split())
    assert (
        f"The SSH host key of {stranger} ({lab.address(stranger)}) is not in "
        f"{read_only / 'known_hosts'}, which kubeprimer cannot write" in flat
    ), flat
    assert "Recorded the SSH host key" not in flat
    # The other hosts, whose keys the file holds, were checked and reached.
    assert all(f"{n} ok" in flat for n in lab.nodes if n != stranger), flat
