"""Key files: created 0600 and never overwritten; PGP keys unwrapped; tokens only from safe places."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from kubeprimer.errors import UserError
from kubeprimer.vault.connect import read_token
from kubeprimer.vault.keys import (
    age_recipients,
    parse_keys,
    pgp_public_key_b64,
    read_key_files,
    write_private,
)

# Real keys made with gpg: ed25519 signing + cv25519 encryption subkey, and ed25519 alone.
KEYS = Path(__file__).parent / "pgp"
ENCRYPTING = (KEYS / "encrypting.asc").read_text()
SIGN_ONLY = (KEYS / "sign-only.asc").read_text()


def test_write_private_is_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    write_private(path, "k1\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(UserError, match="already exists"):
        write_private(path, "k2\n")
    assert path.read_text() == "k1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keys"]  # no temporary file left


def test_pgp_binary_and_armored_keys_give_the_same_base64(tmp_path: Path) -> None:
    armored = tmp_path / "op.asc"
    armored.write_text(ENCRYPTING)
    binary = tmp_path / "op.gpg"
    binary.write_bytes(base64.b64decode(pgp_public_key_b64(armored)))
    assert pgp_public_key_b64(binary) == pgp_public_key_b64(armored)


def mistyped(text: str) -> str:
    """One character of the armored body changed, as a hand-copied key would be."""
    at = text.index("\n\n") + 20
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"hello", "is not an OpenPGP key"),
        (SIGN_ONLY.encode(), "can only sign, not encrypt"),
        (mistyped(ENCRYPTING).encode(), "fails its armor checksum"),
        (base64.b64decode("".join(ENCRYPTING.splitlines()[2:-2]))[:-9], "is truncated"),
        ((ENCRYPTING + SIGN_ONLY).encode(), "holds several keys"),
    ],
)
def test_a_key_the_server_cannot_encrypt_to_is_refused(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "op.key"
    path.write_bytes(content)
    with pytest.raises(UserError, match=expected):
        pgp_public_key_b64(path)


def test_age_recipients_skip_comments_and_reject_junk(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text("# ops\nage1abc\n\nssh-ed25519 AAAA op@host\n")
    assert age_recipients(path) == ["age1abc", "ssh-ed25519 AAAA op@host"]
    path.write_text("age1abc\nnot-a-key\n")
    with pytest.raises(UserError, match="line 2 is not an age recipient"):
        age_recipients(path)


def test_parse_keys_ignores_the_instructions() -> None:
    assert parse_keys("# MOVE THIS FILE\nAAA=\n\n  BBB=  \n") == ["AAA=", "BBB="]


def test_token_file_must_be_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "token"
    path.write_text("s.abc\n")
    path.chmod(0o640)
    with pytest.raises(UserError, match="chmod 600"):
        read_token(str(path))
    path.chmod(0o600)
    assert read_token(str(path)) == ("s.abc", f"token file {path}")


def test_token_from_environment_or_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BAO_TOKEN", "VAULT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(UserError, match="No token"):
        read_token(None)
    monkeypatch.setenv("VAULT_TOKEN", "s.env")
    assert read_token(None) == ("s.env", "$VAULT_TOKEN")


def test_key_and_recipient_files_that_are_not_utf8_are_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_bytes(b"AAAA=\n\xff\xfe\n")
    path.chmod(0o600)
    with pytest.raises(UserError, match=r"Keys file .* is not UTF-8 text \(byte 6\)"):
        read_key_files([str(path)])
    with pytest.raises(UserError, match=r"age recipients file .* is not UTF-8 text"):
        age_recipients(path)


@pytest.mark.parametrize("token", ["s.\udcff-from-bytes", "s.tok€n", "s.two\nlines"])
def test_a_token_no_server_issues_is_one_sentence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, token: str
) -> None:
    for name in ("BAO_TOKEN", "VAULT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BAO_TOKEN", token)
    with pytest.raises(UserError, match=r"The \$BAO_TOKEN holds characters no token has"):
        read_token(None)


def test_a_missing_age_identity_is_one_sentence(tmp_path: Path) -> None:
    keys = tmp_path / "unseal-key-1.age"
    keys.write_text("-----BEGIN AGE ENCRYPTED FILE-----\n")
    keys.chmod(0o600)
    with pytest.raises(UserError, match=r"age identity .*nope does not exist"):
        read_key_files([str(keys)], str(tmp_path / "nope"))
    with pytest.raises(UserError, match=r"age identity .* is a folder"):
        read_key_files([str(keys)], str(tmp_path))


def test_encrypted_key_files_are_not_sent_as_keys(tmp_path: Path) -> None:
    # Their text is valid base64: sent as a key, it would count, then spoil the round.
    for name, expected in (
        ("unseal-key-1.age", "pass --age-identity"),
        ("unseal-key-2.gpg.b64", "gpg --decrypt"),
    ):
        path = tmp_path / name
        path.write_text(base64.b64encode(b"ciphertext").decode() + "\n")
        path.chmod(0o600)
        with pytest.raises(UserError, match=expected):
            read_key_files([str(path)])
