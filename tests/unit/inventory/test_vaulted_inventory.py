"""Ansible Vault in the inventory itself: a hosts file encrypted whole is read as
ansible-playbook reads it, and a value no configured password opens stops a task that
reaches hosts with status 2 before any connection, naming the setting (Ansible would
stop only at the first task using it, half-way through the run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from kubeprimer import inventory
from kubeprimer.paths import ROOT
from tests.unit.addons.test_vaulted_settings import BIN, HOSTS, NO_VAULT_ENV, _password, _vault

BECOME = "s3cret-become-pw"


def _host_vars_with_vaulted_become(tmp_path: Path) -> Path:
    folder = tmp_path / "inventory"
    (folder / "host_vars").mkdir(parents=True)
    (folder / "hosts.yml").write_text(yaml.safe_dump(HOSTS))
    password_file = _password(tmp_path, "vault-pass", "correct horse")
    text = _vault(
        "encrypt_string",
        "--stdin-name",
        "ansible_become_password",
        stdin=BECOME,
        password_file=password_file,
    )
    nested = text.replace("ansible_become_password:", "    password:")
    (folder / "host_vars" / "w1.yml").write_text(f"{text}site:\n  mirror:\n{nested}")
    return folder / "hosts.yml"


def test_an_inventory_file_encrypted_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password_file = _password(tmp_path, "vault-pass", "correct horse")
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(yaml.safe_dump(HOSTS))
    _vault("encrypt", str(hosts), password_file=password_file)
    assert hosts.read_text().startswith("$ANSIBLE_VAULT;")
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(password_file))
    assert sorted(inventory.load_valid(hosts).hosts) == ["cp1", "w1"]


@pytest.mark.parametrize("task", ["cluster.check", "cluster.plan"])
def test_a_vaulted_value_without_a_password_stops_before_any_host(
    tmp_path: Path, task: str
) -> None:
    hosts = _host_vars_with_vaulted_become(tmp_path)
    runs = tmp_path / "runs"
    done = subprocess.run(
        [str(BIN / "invoke"), task, "-i", str(hosts)],
        cwd=ROOT,
        env={**NO_VAULT_ENV, "INVOKE_KUBEPRIMER_RUNS_DIR": str(runs)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    how = (
        "is encrypted with ansible-vault and no vault password is configured; set "
        "ANSIBLE_VAULT_PASSWORD_FILE to the file that holds the vault password (or "
        "ANSIBLE_VAULT_IDENTITY_LIST, or vault_password_file in ansible.cfg)."
    )
    assert done.stderr.splitlines() == [
        f"error: ansible_become_password of host w1 {how}",
        f"error: site.mirror.password of host w1 {how}",
    ]
    # No run was started: Ansible never reached a host.
    assert not runs.exists()
