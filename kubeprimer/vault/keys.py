"""Unseal keys at rest: encrypted to operators' age or PGP keys, else one private file.

Nothing here logs a key. Files are created with O_EXCL and mode 0600 from the first
byte, so a key never sits in a world-readable file, even for a moment, and an earlier
set of keys is never overwritten.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from kubeprimer.errors import UserError
from kubeprimer.vault import pgp
from kubeprimer.vault.connect import check_private, read_text


def write_private(path: Path, text: str) -> None:
    """Create a file only its owner can read, whole or not at all; never replace one.

    The text goes to a 0600 temporary file, is synced, then linked to its name: a crash
    leaves either no file or the complete one, and link() refuses an existing name.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.link(temp, path)
    except FileExistsError:
        raise UserError(f"{path} already exists: move it away first, it may hold keys.") from None
    finally:
        temp.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def pgp_public_key_b64(path: Path) -> str:
    """The base64 of a binary public key, as Vault's init wants it; armored keys are unwrapped.

    The key is checked first: the server fails half-way through init on one it cannot
    encrypt to.
    """
    if not path.is_file():
        raise UserError(f"PGP public key {path} does not exist.")
    raw = path.read_bytes()
    try:
        if pgp.ARMOR_BEGIN.encode() in raw:
            raw = pgp.unarmor(raw.decode("ascii", errors="replace"))
        pgp.check(raw)
    except pgp.KeyProblem as problem:
        raise UserError(f"PGP public key {path} {problem}.") from None
    return base64.b64encode(raw).decode()


def age_recipients(path: Path) -> list[str]:
    """One age recipient per line (comments and blank lines skipped), one per operator."""
    if not path.is_file():
        raise UserError(f"age recipients file {path} does not exist.")
    found = []
    for number, line in enumerate(read_text(path, "age recipients file").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith(("age1", "ssh-ed25519 ", "ssh-rsa ")):
            raise UserError(f"{path} line {number} is not an age recipient (age1... or ssh-...).")
        found.append(line)
    if not found:
        raise UserError(f"age recipients file {path} lists no recipient.")
    return found


def age_binary() -> str:
    found = shutil.which("age")
    if not found:
        raise UserError("The `age` command is missing: install the Debian package `age`.")
    return found


def check_age_recipients(path: Path) -> list[str]:
    """The recipients, each tried by age itself: one it refuses must stop init before it starts."""
    found = age_recipients(path)
    for number, recipient in enumerate(found, 1):
        done = subprocess.run(
            [age_binary(), "--encrypt", "--recipient", recipient],
            input=b"",
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            reason = done.stderr.decode(errors="replace").strip().splitlines()
            raise UserError(
                f"{path}: recipient {number} ({recipient[:24]}...) is not one age can encrypt to"
                f" ({reason[0] if reason else 'no reason given'})."
            )
    return found


def age_encrypt(recipient: str, secret: str) -> str:
    """ASCII-armored age ciphertext; the secret travels on stdin, never on argv."""
    done = subprocess.run(
        [age_binary(), "--armor", "--recipient", recipient],
        input=secret.encode(),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise UserError(f"age could not encrypt to {recipient}: {done.stderr.decode().strip()}")
    return done.stdout.decode()


def age_decrypt(identity: Path, ciphertext: Path) -> str:
    """Plaintext of an age file; stays in memory, it is never written anywhere."""
    done = subprocess.run(
        [age_binary(), "--decrypt", "--identity", str(identity), str(ciphertext)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise UserError(
            f"age could not decrypt {ciphertext} with {identity}: {done.stderr.decode().strip()}"
        )
    try:
        return done.stdout.decode()
    except UnicodeDecodeError:
        raise UserError(
            f"{ciphertext} does not hold unseal keys: it decrypts to binary data."
        ) from None


def parse_keys(text: str) -> list[str]:
    """Keys from a keys file: one per line; '#' lines are the file's own instructions."""
    return [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]


def read_key_files(files: Iterable[str], age_identity: str | None = None) -> list[str]:
    """Unseal keys from plain 0600 files or, with an age identity, from .age files."""
    keys: list[str] = []
    for name in files:
        path = Path(name).expanduser()
        if not path.is_file():
            raise UserError(f"Keys file {path} does not exist.")
        if age_identity and path.suffix == ".age":
            identity = Path(age_identity).expanduser()
            if identity.is_dir():
                raise UserError(f"age identity {identity} is a folder: give the identity file.")
            if not identity.is_file():
                raise UserError(f"age identity {identity} does not exist.")
            check_private(identity, "age identity")
            keys += parse_keys(age_decrypt(identity, path))
        elif path.suffix == ".age":
            raise UserError(f"{path} is encrypted with age: pass --age-identity with your key.")
        elif path.name.endswith(".gpg.b64"):
            raise UserError(
                f"{path} is encrypted to your PGP key: run `base64 -d {path} | gpg --decrypt` "
                "and enter the key at the prompt."
            )
        else:
            check_private(path, "Keys file")
            keys += parse_keys(read_text(path, "Keys file"))
    return keys
