"""vault.plan and vault.apply take -i as vault.init does, against a real OpenBao with TLS.

The shell has no BAO_ADDR or BAO_CACERT: the server comes from the inventory's vault
group (its vault_api_port) and the CA from .pki/ca.crt beside the inventory, the
toolkit CA's place. --json prints the plan alone on stdout.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .baoserver import Setup, cli_env, kubeprimer

pytestmark = pytest.mark.integration

CONFIG = """
mounts:
  from-inventory:
    description: found through -i
"""


def inventory(folder: Path, setup: Setup) -> Path:
    (folder / ".pki").mkdir(parents=True)
    shutil.copy(setup.server.ca.ca_cert, folder / ".pki" / "ca.crt")
    path = folder / "hosts.yml"
    path.write_text(
        f"""
all:
  children:
    kube_control_plane:
      hosts:
        cp1: {{ansible_host: 192.0.2.10}}
    etcd:
      hosts:
        cp1:
    vault:
      hosts:
        bao1: {{ansible_host: 127.0.0.1, vault_api_port: {setup.server.port}}}
"""
    )
    return path


def test_plan_and_apply_find_the_server_and_ca_from_the_inventory(
    setup: Setup, tmp_path: Path
) -> None:
    hosts = inventory(tmp_path / "site", setup)
    config = setup.config(CONFIG, "from-inventory.yml")
    token = ["--token-file", str(setup.token_file)]
    env = cli_env()

    plan = kubeprimer("vault.plan", "-i", str(hosts), "-c", str(config), *token, "--json", env=env)
    assert plan.returncode == 0, plan.stderr
    data = json.loads(plan.stdout)
    assert data["changes"] == [
        {"action": "+", "kind": "mount", "name": "from-inventory", "detail": "kv-v2"}
    ]
    assert data["counts"] == {"create": 1, "update": 0, "remove": 0}
    assert data["applied"] is False

    applied = kubeprimer("vault.apply", "-i", str(hosts), "-c", str(config), *token, env=env)
    assert applied.returncode == 0, applied.stderr
    assert "+ mount from-inventory" in applied.stdout and "Applied." in applied.stdout
    again = kubeprimer("vault.plan", "-i", str(hosts), "-c", str(config), *token, env=env)
    assert "No changes" in again.stdout

    # The CA is the inventory's: without it, TLS to the server cannot be trusted.
    (tmp_path / "site" / ".pki" / "ca.crt").unlink()
    missing = kubeprimer("vault.plan", "-i", str(hosts), "-c", str(config), *token, env=env)
    assert missing.returncode == 2
    assert (
        f"CA certificate {tmp_path / 'site' / '.pki' / 'ca.crt'} does not exist" in missing.stderr
    )


def test_unseal_with_dash_i_reports_each_member_as_json(setup: Setup, tmp_path: Path) -> None:
    hosts = inventory(tmp_path / "site", setup)
    keys = tmp_path / "keys"
    keys.write_text("\n".join(setup.keys) + "\n")
    keys.chmod(0o600)
    setup.server.stop()  # a restarted server comes back sealed
    setup.server.start()
    done = kubeprimer("vault.unseal", "-i", str(hosts), "--keys-file", str(keys), "--json")
    assert done.returncode == 0, done.stderr
    (member,) = json.loads(done.stdout)["members"]
    assert set(member) == {"address", "initialized", "sealed", "progress", "error"}
    assert member["address"] == setup.server.address
    assert member["initialized"] is True and member["sealed"] is False
    assert all(key not in done.stdout + done.stderr for key in setup.keys)
