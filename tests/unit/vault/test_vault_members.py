"""Which servers the vault tasks talk to: the inventory's vault hosts, or --address."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeprimer.errors import UserError
from kubeprimer.inventory import load
from kubeprimer.vault.members import from_addresses, from_inventory


def inventory(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(body)
    return path


def test_vault_hosts_with_their_port_and_the_toolkit_ca(tmp_path: Path) -> None:
    path = inventory(
        tmp_path,
        """
all:
  children:
    vault:
      hosts:
        v1: {ansible_host: 192.0.2.51}
        v2: {ansible_host: 192.0.2.52, vault_api_port: 8300}
""",
    )
    (tmp_path / ".pki").mkdir()
    (tmp_path / ".pki" / "ca.crt").write_text("pem")
    found = from_inventory(load(path), None)
    assert [e.address for e in found] == ["https://192.0.2.51:8200", "https://192.0.2.52:8300"]
    assert all(e.ca_cert == tmp_path / ".pki" / "ca.crt" for e in found)


def test_no_vault_group_is_one_sentence(tmp_path: Path) -> None:
    path = inventory(tmp_path, "all:\n  hosts:\n    h1: {ansible_host: 192.0.2.1}\n")
    with pytest.raises(UserError, match="no hosts in the vault group"):
        from_inventory(load(path), None)


def test_addresses_are_checked() -> None:
    assert [e.address for e in from_addresses("https://a:8200/, https://b:8200", None)] == [
        "https://a:8200",
        "https://b:8200",
    ]
    with pytest.raises(UserError, match="must start with https://"):
        from_addresses("a:8200", None)


@pytest.mark.parametrize("port", ["'82x0'", "70000", "true"])
def test_a_port_that_is_not_a_number_is_one_sentence(tmp_path: Path, port: str) -> None:
    path = inventory(
        tmp_path,
        f"all:\n  children:\n    vault:\n      hosts:\n        v1: {{vault_api_port: {port}}}\n",
    )
    with pytest.raises(UserError, match=r"vault_api_port of v1 is .*; set it to a port number"):
        from_inventory(load(path), None)


@pytest.mark.parametrize("port", ['"²"', '"8200 "', "8200.0", "true", "[8200]"])
def test_a_port_that_is_not_a_plain_number_is_one_sentence(tmp_path: Path, port: str) -> None:
    body = f"all:\n  children:\n    vault:\n      hosts:\n        v1: {{vault_api_port: {port}}}\n"
    with pytest.raises(UserError, match="set it to a port number from 1 to 65535"):
        from_inventory(load(inventory(tmp_path, body)), None)
