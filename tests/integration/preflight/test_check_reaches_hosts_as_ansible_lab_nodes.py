"""cluster.check reaches real lab nodes the way the playbooks do: through a bastion
(ProxyJump in ansible_ssh_common_args, the bastion's key checked too) and with the
host's ansible_become_method, not a fixed user, port and key."""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.inventory import load
from kubeprimer.lab import node
from kubeprimer.lab.state import LabDirs
from tests.integration.preflight.test_check_on_lab_nodes import invoke
from tests.integration.preflight.test_host_keys_lab_nodes import copy_inventory

pytestmark = pytest.mark.integration

DROP_IN = "etc/ssh/sshd_config.d/kubeprimer-test-bastion-only.conf"


@pytest.fixture
def agent(lab: Any) -> Iterator[dict[str, str]]:
    """An ssh-agent holding the lab key: how a bastion user's key reaches the jump."""
    out = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True).stdout
    env = dict(
        part.split("=", 1)
        for part in out.replace(";", "\n").split()
        if part.startswith("SSH_") and "=" in part
    )
    try:
        subprocess.run(["ssh-add", "-q", str(lab.status.key)], env=env, check=True)
        yield {"SSH_AUTH_SOCK": env["SSH_AUTH_SOCK"]}
    finally:
        os.kill(int(env["SSH_AGENT_PID"]), signal.SIGTERM)


def via(lab: Any, bastion: str, target: str, command: str) -> None:
    """Run a command on ``target`` through ``bastion``, both keys checked (the lab's file)."""
    hop = [*lab.ssh_args(bastion)[:-1], "-W", "%h:%p", lab.ssh_args(bastion)[-1]]
    argv = lab.ssh_args(target)
    subprocess.run(
        [*argv[:-1], "-o", f"ProxyCommand={shlex.join(hop)}", argv[-1], command],
        check=True,
        capture_output=True,
        timeout=60,
    )


def wait_for_ssh(lab: Any, name: str) -> None:
    """sshd re-executes itself on reload: for a moment it refuses connections."""
    deadline = time.monotonic() + 30
    while lab.ssh(name, "true", check=False).returncode != 0:
        assert time.monotonic() < deadline, f"{name} does not answer SSH after a reload"
        time.sleep(0.5)


def test_a_host_behind_a_bastion_is_checked_through_it(
    lab: Any, tmp_path: Path, agent: dict[str, str]
) -> None:
    bastion, target = lab.nodes[0], lab.nodes[-1]
    hosts = copy_inventory(lab, tmp_path)
    user = load(lab.inventory).hosts[bastion].user or "root"
    data = yaml.safe_load(hosts.read_text())
    data["all"]["hosts"][target]["ansible_ssh_common_args"] = (
        f"-o ProxyJump={user}@{lab.address(bastion)}"
    )
    hosts.write_text(yaml.safe_dump(data))
    root = node.root_dir(LabDirs(lab.config.state_dir, lab.name), target)
    # The target refuses SSH from the controller itself (the lab bridge's address).
    (root / DROP_IN).write_text(f"DenyUsers *@{lab.status.plan.gateway}\n")
    lab.ssh(target, "systemctl reload ssh")
    # Reloaded, the target answers from the bastion only.
    time.sleep(1)
    try:
        (tmp_path / "direct").mkdir()
        direct = invoke("cluster.check", "-i", str(copy_inventory(lab, tmp_path / "direct")))
        assert direct.returncode == 3, direct.stdout + direct.stderr
        assert f"✗ {target} ssh: unreachable" in direct.stdout

        done = invoke("cluster.check", "-i", str(hosts), env=agent)
        assert done.returncode == 0, done.stdout + done.stderr
        row = next(line for line in done.stdout.splitlines() if line.strip().startswith(target))
        assert "FAIL" not in row

        # The jump checks the bastion's key against the same file: a wrong one stops it.
        known = tmp_path / "known_hosts"
        lines = known.read_text().splitlines()
        other = next(line for line in lines if lab.address(target) in line).split()[1:]
        known.write_text(
            "".join(
                f"{lab.address(bastion)} {' '.join(other)}\n"
                if lab.address(bastion) in line
                else f"{line}\n"
                for line in lines
            )
        )
        refused = invoke("cluster.check", "-i", str(hosts), env=agent)
        assert refused.returncode == 3, refused.stdout + refused.stderr
        flat = " ".join(refused.stdout.split())
        assert (
            f"The SSH host key of {bastion} ({lab.address(bastion)}), on the way to {target}, differs"
            in flat
        )
    finally:
        (root / DROP_IN).unlink(missing_ok=True)
        via(lab, bastion, target, "systemctl reload ssh")
        wait_for_ssh(lab, target)


def test_the_hosts_become_method_and_password_are_used(lab: Any, tmp_path: Path) -> None:
    """A user without sudo rights who escalates with su and root's password."""
    host, user, secret = lab.nodes[-1], "kpbecome", secrets.token_hex(16)
    hosts = copy_inventory(lab, tmp_path)
    lab.ssh(
        host,
        f"useradd -m -s /bin/sh {user} && install -d -m 700 -o {user} /home/{user}/.ssh"
        f" && install -m 600 -o {user} /root/.ssh/authorized_keys /home/{user}/.ssh/"
        " && getent shadow root | cut -d: -f2 > /root/.kpbecome-root-hash",
    )
    # The password goes in on stdin, never on a command line.
    subprocess.run(
        [*lab.ssh_args(host), "chpasswd"], input=f"root:{secret}\n", text=True, check=True
    )
    try:
        data = yaml.safe_load(hosts.read_text())
        data["all"]["hosts"][host].update(ansible_user=user, ansible_become_password=secret)
        hosts.write_text(yaml.safe_dump(data))
        with_sudo = invoke("cluster.check", "-i", str(hosts))
        assert with_sudo.returncode == 1, with_sudo.stdout + with_sudo.stderr
        assert f"✗ {host} ssh:" in with_sudo.stdout
        data["all"]["hosts"][host]["ansible_become_method"] = "su"
        hosts.write_text(yaml.safe_dump(data))
        with_su = invoke("cluster.check", "-i", str(hosts))
        assert with_su.returncode == 0, with_su.stdout + with_su.stderr
        assert secret not in with_su.stdout + with_sudo.stdout
    finally:
        lab.ssh(
            host,
            f'usermod -p "$(cat /root/.kpbecome-root-hash)" root && rm /root/.kpbecome-root-hash'
            f" && userdel -r {user}",
            check=False,
        )
