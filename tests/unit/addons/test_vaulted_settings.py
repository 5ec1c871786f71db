"""Addon settings kept in Ansible Vault reach the manifests decrypted, or stop the task.

Values are made by the real ``ansible-vault``; the password reaches kubeprimer the way
it reaches ansible-playbook (ANSIBLE_VAULT_PASSWORD_FILE, ANSIBLE_VAULT_IDENTITY_LIST).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubeprimer import inventory
from kubeprimer.addons import catalog, config, render
from kubeprimer.errors import UserError
from kubeprimer.paths import ROOT

PLAIN = "grafana-admin-s3cret"
SETTING = "addons_monitoring_grafana_admin_password"
HOSTS = {
    "all": {
        "children": {
            "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "10.1.0.11"}}},
            "kube_node": {"hosts": {"w1": {"ansible_host": "10.1.0.21"}}},
        }
    }
}
BIN = Path(sys.executable).parent
NO_VAULT_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_VAULT", "ANSIBLE_CONFIG"))
}


def _vault(*args: str, stdin: str = "", password_file: Path) -> str:
    """Run the real ansible-vault; secrets go through stdin and files, never argv."""
    done = subprocess.run(
        [str(BIN / "ansible-vault"), *args, "--vault-password-file", str(password_file)],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        env=NO_VAULT_ENV,
        timeout=60,
    )
    return done.stdout


def _password(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def _inventory(tmp_path: Path, group_vars: str) -> Path:
    folder = tmp_path / "inventory"
    (folder / "group_vars").mkdir(parents=True)
    (folder / "hosts.yml").write_text(yaml.safe_dump(HOSTS))
    (folder / "group_vars" / "all.yml").write_text(group_vars)
    return folder / "hosts.yml"


def _encrypted_setting(tmp_path: Path, *vault_id: str) -> tuple[Path, str, Path]:
    """An inventory whose Grafana password is a real encrypt_string value."""
    password_file = _password(tmp_path, "vault-pass", "correct horse")
    extra = ["--encrypt-vault-id", vault_id[0]] if vault_id else []
    if vault_id:
        password_file = _password(tmp_path, "vault-pass-id", "battery staple")
        extra = ["--vault-id", f"{vault_id[0]}@{password_file}", *extra]
    text = _vault(
        "encrypt_string", *extra, "--stdin-name", SETTING, stdin=PLAIN, password_file=password_file
    )
    assert "!vault" in text and PLAIN not in text
    return _inventory(tmp_path, text), text, password_file


def _grafana_password(objects: list[dict[str, object]]) -> str:
    [secret] = [o for o in objects if o["kind"] == "Secret" and "grafana" in str(o["metadata"])]
    data = secret.get("data") or {}
    assert isinstance(data, dict)
    return base64.b64decode(data["password"]).decode()


def _render(hosts: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "invoke"), "addons.render", "monitoring", "--out", str(out), "-i", str(hosts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def _ciphertext_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().isalnum()]


def test_addons_render_writes_the_decrypted_value(tmp_path: Path) -> None:
    hosts, encrypted, password_file = _encrypted_setting(tmp_path)
    out = tmp_path / "out"
    done = _render(hosts, out, {**NO_VAULT_ENV, "ANSIBLE_VAULT_PASSWORD_FILE": str(password_file)})
    assert done.returncode == 0, done.stderr
    written = sorted((out / "monitoring").glob("*.yaml"))
    objects = [o for f in written for o in yaml.safe_load_all(f.read_text()) if o]
    assert _grafana_password(objects) == PLAIN
    everything = "".join(f.read_text() for f in written) + done.stdout + done.stderr
    assert "ANSIBLE_VAULT" not in everything
    for line in _ciphertext_lines(encrypted):
        assert line not in everything
        assert base64.b64encode(line.encode()).decode()[:40] not in everything


def test_addons_render_without_the_password_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    hosts, _, _ = _encrypted_setting(tmp_path)
    out = tmp_path / "out"
    done = _render(hosts, out, NO_VAULT_ENV)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {SETTING} is encrypted with ansible-vault and no vault password is configured; "
        "set ANSIBLE_VAULT_PASSWORD_FILE to the file that holds the vault password "
        "(or ANSIBLE_VAULT_IDENTITY_LIST, or vault_password_file in ansible.cfg)."
    )
    assert not out.exists()


def _rendered_password(hosts: Path) -> str:
    settings = inventory.load_valid(hosts).settings
    resolved = config.resolve(catalog.get("monitoring"), settings)
    return _grafana_password(render.objects(resolved))


def test_a_vault_identity_list_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hosts, _, password_file = _encrypted_setting(tmp_path, "prod")
    for name in [k for k in os.environ if k.startswith("ANSIBLE_VAULT")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANSIBLE_VAULT_IDENTITY_LIST", f"prod@{password_file}")
    assert _rendered_password(hosts) == PLAIN


def test_a_wrong_password_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hosts, _, _ = _encrypted_setting(tmp_path)
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(_password(tmp_path, "wrong", "nope")))
    with pytest.raises(UserError) as raised:
        inventory.load(hosts)
    assert raised.value.messages == [
        f"{SETTING} does not decrypt with the configured vault password; set "
        "ANSIBLE_VAULT_PASSWORD_FILE to the file that holds the vault password (or "
        "ANSIBLE_VAULT_IDENTITY_LIST, or vault_password_file in ansible.cfg) that it was "
        "encrypted with."
    ]


def test_a_group_vars_file_encrypted_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password_file = _password(tmp_path, "vault-pass", "correct horse")
    hosts = _inventory(tmp_path, f"{SETTING}: {PLAIN}\n")
    _vault("encrypt", str(hosts.parent / "group_vars" / "all.yml"), password_file=password_file)
    assert PLAIN not in (hosts.parent / "group_vars" / "all.yml").read_text()
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(password_file))
    assert _rendered_password(hosts) == PLAIN
