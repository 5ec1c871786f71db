"""Three lab nodes as an external etcd cluster under a rolling upgrade, driven the way a
user drives it: the inventory's group_vars hold etcd_version and where the binaries
come from, the etcd play of cluster.yml installs (``etcd-role.yml`` beside this file;
the lab cannot run kubeadm) and ``playbooks/etcd_upgrade.yml`` upgrades (what
cluster.upgrade runs). Shared by the integration test and bench/etcd_upgrade.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from kubeprimer.paths import PLAYBOOKS, ROOT
from tests.integration.cluster.conftest import recap
from tests.integration.conftest import RunningLab
from tests.integration.etcd_upgrade.releases import distro_etcd
from tests.integration.etcd_upgrade.writer import Etcdctl
from tests.programs import ANSIBLE_PLAYBOOK, playbook_env

UPGRADE = PLAYBOOKS / "etcd_upgrade.yml"
# The etcd play of cluster.yml alone: what cluster.up runs on the members.
ROLE = Path(__file__).with_name("etcd-role.yml")
PKI = "/etc/etcd/pki"
CLEANUP = (
    "systemctl stop etcd; systemctl disable etcd; systemctl reset-failed; "
    "rm -rf /etc/etcd /var/lib/etcd /etc/systemd/system/etcd.service /usr/local/bin/etcd "
    "/usr/local/bin/etcdctl /usr/local/bin/etcdutl /var/cache/kubeprimer/etcd; "
    "systemctl daemon-reload"
)


@dataclass
class Run:
    """One ansible-playbook run: its return code, output and recap."""

    returncode: int
    out: str

    @property
    def changed(self) -> int:
        return sum(host.get("changed", 0) for host in recap(self.out).values())


@dataclass
class UpgradeSite:
    lab: RunningLab
    folder: Path

    @property
    def inventory(self) -> Path:
        return self.folder / "hosts.yml"

    @property
    def nodes(self) -> list[str]:
        return self.lab.nodes

    @property
    def endpoints(self) -> list[str]:
        return [f"https://{self.lab.address(n)}:2379" for n in self.nodes]

    @classmethod
    def create(cls, lab: RunningLab, folder: Path) -> UpgradeSite:
        """An inventory of the lab's nodes as the etcd group (the first one a control plane)."""
        nodes = lab.nodes
        inventory = {
            "all": {
                "hosts": {n: {"ansible_host": lab.address(n)} for n in nodes},
                "children": {
                    "etcd": {"hosts": {n: None for n in nodes}},
                    "kube_control_plane": {"hosts": {nodes[0]: None}},
                    "kube_node": {"hosts": {n: None for n in nodes[1:]}},
                },
            }
        }
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "group_vars").mkdir(exist_ok=True)
        (folder / "logs").mkdir(exist_ok=True)
        (folder / "hosts.yml").write_text(yaml.safe_dump(inventory))
        return cls(lab, folder)

    def settings(self, version: str, bin_dir: Path) -> None:
        """The inventory's etcd settings, as a user writes them: external etcd at
        ``version`` from the binaries in ``bin_dir`` on the controller."""
        lab_vars = yaml.safe_load(
            (self.lab.inventory.parent / "group_vars" / "all.yml").read_text()
        )
        settings = {
            **lab_vars,
            "etcd_mode": "external",
            "etcd_version": version,
            "etcd_binary_source": "controller_path",
            "etcd_controller_bin_dir": str(bin_dir),
        }
        (self.folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))

    def start(self, name: str, book: Path, *extra: str) -> subprocess.Popen[str]:
        argv = [ANSIBLE_PLAYBOOK, "-i", str(self.inventory), str(book), *extra]
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=playbook_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def run(self, name: str, book: Path, *extra: str, timeout: float = 1500) -> Run:
        process = self.start(name, book, *extra)
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
            raise
        (self.folder / "logs" / f"{name}.log").write_text(out)
        return Run(process.returncode, out)

    def run_until(self, name: str, book: Path, stop: Callable[[str], bool]) -> Run:
        """Run ``book`` and kill it (SIGKILL, with every process it started) at the
        first output line for which ``stop`` is true."""
        process = self.start(name, book)
        assert process.stdout is not None
        seen: list[str] = []
        for line in process.stdout:
            seen.append(line)
            if stop(line):
                os.killpg(process.pid, signal.SIGKILL)
                break
        process.wait(timeout=60)
        out = "".join(seen)
        (self.folder / "logs" / f"{name}.log").write_text(out)
        return Run(process.returncode, out)

    def client(self) -> Etcdctl:
        """etcdctl 3.5 on the controller with a certificate etcd accepts: the first
        member's, fetched once (mode 0600)."""
        folder = self.folder / "client"
        if not (folder / "etcd-member.key").is_file():
            folder.mkdir(mode=0o700, exist_ok=True)
            for name in ("ca.crt", "etcd-member.crt", "etcd-member.key"):
                text = self.lab.ssh(self.nodes[0], f"cat {PKI}/{name}").stdout
                path = folder / name
                path.touch(mode=0o600)
                path.write_text(text)
        return Etcdctl(distro_etcd() / "etcdctl", self.endpoints, folder)

    def versions(self) -> dict[str, str]:
        """The etcd version each member's server reports ("" when it does not answer)."""
        status = self.client().status()
        return {
            node: str(status.get(endpoint, {}).get("version", ""))
            for node, endpoint in zip(self.nodes, self.endpoints, strict=True)
        }

    def state(self) -> dict[str, str]:
        """Per member: the installed etcd's sha256 and the running process, which a
        refused run must leave exactly as they were."""
        return {
            node: self.lab.ssh(
                node,
                "sha256sum /usr/local/bin/etcd /usr/local/bin/etcdctl; "
                "systemctl show etcd -p MainPID -p ActiveEnterTimestampMonotonic",
            ).stdout
            for node in self.nodes
        }

    def restarts(self) -> dict[str, float]:
        """When each member's etcd last stopped, in monotonic seconds."""
        found: dict[str, float] = {}
        for node in self.nodes:
            said = self.lab.ssh(
                node, "systemctl show etcd -p ActiveExitTimestampMonotonic --value"
            ).stdout
            found[node] = int(said.strip() or 0) / 1e6
        return found

    def cleanup(self) -> None:
        for node in self.nodes:
            self.lab.ssh(node, CLEANUP, check=False)
