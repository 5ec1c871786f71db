"""Inventory values encrypted with ansible-vault, decrypted as ansible-playbook does.

The password comes from where ansible-playbook finds it when the runner starts it:
the project's ansible.cfg (``vault_password_file``, ``vault_identity_list``), or
``ANSIBLE_VAULT_PASSWORD_FILE`` / ``ANSIBLE_VAULT_IDENTITY_LIST``, which override it.
Ansible's own code reads the files (a script is run) and decrypts, so both sides see
the same values. Without a password a value stays ``Locked``: any use of it as text
ends the task with one sentence naming the setting, so ciphertext is never mistaken
for the value (an addon Secret holding ``$ANSIBLE_VAULT;...``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeprimer import yamlfile
from kubeprimer.errors import UserError
from kubeprimer.paths import ANSIBLE_CFG
from kubeprimer.yamlfile import Vaulted

HOW = (
    "set ANSIBLE_VAULT_PASSWORD_FILE to the file that holds the vault password "
    "(or ANSIBLE_VAULT_IDENTITY_LIST, or vault_password_file in ansible.cfg)"
)
_PROMPTS = ("prompt", "prompt_ask_vault_pass")
FILE_HEADER = "$ANSIBLE_VAULT;"


def locked_message(setting: str) -> str:
    return f"{setting} is encrypted with ansible-vault and no vault password is configured; {HOW}."


@dataclass(frozen=True)
class Locked(Vaulted):
    """A vaulted value no configured password opens; it refuses to become text."""

    setting: str = field(default="")

    def __str__(self) -> str:
        raise UserError(locked_message(self.setting))

    def __format__(self, spec: str) -> str:
        raise UserError(locked_message(self.setting))


def _sources() -> list[tuple[str, str]]:
    """(vault id, password file) pairs, in ansible-playbook's order; prompts left out."""
    from ansible.config.manager import ConfigManager  # type: ignore[import-untyped]

    config = ConfigManager(str(ANSIBLE_CFG))
    default_id = str(config.get_config_value("DEFAULT_VAULT_IDENTITY"))
    found = []
    for slug in config.get_config_value("DEFAULT_VAULT_IDENTITY_LIST") or []:
        # As Ansible's CLI.split_vault_id: ID@SOURCE splits at the first @; no @ means no ID.
        vault_id, at, where = str(slug).partition("@")
        found.append((vault_id or default_id, where) if at else (default_id, vault_id))
    password_file = config.get_config_value("DEFAULT_VAULT_PASSWORD_FILE")
    if password_file:
        found.append((default_id, str(password_file)))
    return [(vault_id, where) for vault_id, where in found if where not in _PROMPTS]


def _secrets() -> list[tuple[str, Any]]:
    from ansible.errors import AnsibleError  # type: ignore[import-untyped]
    from ansible.parsing.dataloader import DataLoader  # type: ignore[import-untyped]
    from ansible.parsing.vault import get_file_vault_secret  # type: ignore[import-untyped]

    loader = DataLoader()
    secrets = []
    for vault_id, where in _sources():
        try:
            secret = get_file_vault_secret(filename=where, vault_id=vault_id, loader=loader)
            secret.load()
        except AnsibleError:
            # Ansible's own text may quote a script's output; only the path is safe to show.
            raise UserError(
                f"The vault password file {where} does not exist, is empty or fails to run; "
                "fix ANSIBLE_VAULT_PASSWORD_FILE, ANSIBLE_VAULT_IDENTITY_LIST or ansible.cfg."
            ) from None
        secrets.append((vault_id, secret))
    return secrets


class Revealer:
    """Decrypts every vaulted value of an inventory, reading the password at most once."""

    def __init__(self, secrets: Callable[[], list[tuple[str, Any]]] = _secrets) -> None:
        self._load_secrets = secrets
        self._secrets: list[tuple[str, Any]] | None = None
        self._plain: dict[str, str] = {}

    def _vault(self) -> Any:
        from ansible.parsing.vault import VaultLib

        if self._secrets is None:
            self._secrets = self._load_secrets()
        return VaultLib(self._secrets) if self._secrets else None

    def _decrypt(self, ciphertext: str, what: str) -> str | None:
        """The plain text, or None when no password is configured."""
        from ansible.errors import AnsibleError

        if ciphertext in self._plain:
            return self._plain[ciphertext]
        vault = self._vault()
        if vault is None:
            return None
        try:
            plain = vault.decrypt(ciphertext.strip())
        except AnsibleError:
            raise UserError(
                f"{what} does not decrypt with the configured vault password; "
                f"{HOW} that it was encrypted with."
            ) from None
        try:
            self._plain[ciphertext] = plain.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError(
                f"{what} decrypts to bytes that are not UTF-8 text; encrypt the text again "
                "with ansible-vault."
            ) from None
        return self._plain[ciphertext]

    def value(self, data: Any, setting: str) -> Any:
        """``data`` with every vaulted value inside decrypted (or Locked, if no password)."""
        if isinstance(data, Vaulted):
            plain = self._decrypt(data.ciphertext, setting)
            return Locked(data.ciphertext, setting) if plain is None else plain
        if isinstance(data, dict):
            return {k: self.value(v, f"{setting}.{k}") for k, v in data.items()}
        if isinstance(data, list):
            return [self.value(v, f"{setting}[{i}]") for i, v in enumerate(data)]
        return data

    def variables(self, data: dict[str, Any], where: str = "") -> dict[str, Any]:
        """A vars mapping with its vaulted values decrypted; ``where`` names its owner."""
        return {k: self.value(v, f"{k}{where}") for k, v in data.items()}

    def file_text(self, text: str, path: Path) -> str:
        """A vars file encrypted whole with ``ansible-vault encrypt``, as its YAML text."""
        if not text.startswith(FILE_HEADER):
            return text
        plain = self._decrypt(text, str(path))
        if plain is None:
            raise UserError(locked_message(str(path)))
        return plain

    def read(self, path: Path) -> Any:
        """A user's YAML file, decrypted first when ``ansible-vault encrypt`` made it."""
        return yamlfile.parse(self.file_text(yamlfile.text_of(path), path), path)


def locked_paths(data: Any, path: str = "") -> Iterator[str]:
    """Where ``data`` holds a value no configured password opens (``a.b[0]``)."""
    if isinstance(data, Locked):
        yield path
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from locked_paths(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from locked_paths(value, f"{path}[{index}]")
