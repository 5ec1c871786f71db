"""`vault.init`: initialise a new server, keep its keys safe, and retire the root token.

The order matters. Keys are on disk (encrypted when operators gave public keys) before
anything else can fail; the root token lives only in this process's memory, is used to
make an admin policy and token, and is revoked before the function returns, whatever
happened in between. A new root token, when one is ever needed, comes from
`bao operator generate-root` and a quorum of unseal keys.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeprimer.errors import UserError, raise_if
from kubeprimer.vault import keys as keystore
from kubeprimer.vault.connect import (
    Endpoint,
    check_private,
    raw_client,
    read_text,
    reason,
    seal_status,
    unreachable,
)
from kubeprimer.vault.partial import PartlyDone
from kubeprimer.vault.reserved import ADMIN_POLICY
from kubeprimer.vault.unseal import MemberStatus, unseal_all, wait_active

ADMIN_TOKEN_FILE = "admin-token"
PLAIN_KEYS_FILE = "unseal-keys"
# Init's result until the root token is revoked; a re-run finishes from it.
PENDING_FILE = "init-pending.json"
# What `vault.plan/apply`, the Kubernetes wiring and `vault.upgrade` (step-down, raft
# health) need, and no more: no rekey, no raft peer removal. KV v2 mounts may sit one or
# two segments deep. A new root token needs this token AND a quorum of unseal keys
# (sys/generate-root-token): two separate parties.
ADMIN_POLICY_HCL = """\
# kubeprimer-admin: managed by `invoke vault.init`; used by vault.plan/apply, k8s-auth and upgrade.
path "sys/mounts" { capabilities = ["read", "list"] }
path "sys/mounts/*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }
path "sys/auth" { capabilities = ["read", "list"] }
path "sys/auth/*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }
path "sys/policies/acl" { capabilities = ["list"] }
path "sys/policies/acl/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "sys/policy" { capabilities = ["read", "list"] }
path "sys/policy/*" { capabilities = ["create", "read", "update", "delete"] }
path "sys/seal-status" { capabilities = ["read"] }
path "sys/generate-root-token/*" { capabilities = ["create", "read", "update", "delete"] }
path "sys/leader" { capabilities = ["read"] }
path "sys/storage/raft/configuration" { capabilities = ["read"] }
path "sys/storage/raft/autopilot/state" { capabilities = ["read"] }
path "sys/step-down" { capabilities = ["update", "sudo"] }
path "auth/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "+/data/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "+/metadata/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "+/config" { capabilities = ["create", "read", "update"] }
path "+/+/data/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "+/+/metadata/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "+/+/config" { capabilities = ["create", "read", "update"] }
"""
ADMIN_TOKEN_PERIOD = "768h"

KeyPrompt = Callable[[int], list[str]]


@dataclass(frozen=True)
class Protection:
    """How the key shares leave the server: PGP (server-side), age (here), or a 0600 file."""

    pgp_keys: tuple[Path, ...] = ()
    age_recipients: Path | None = None

    def count(self) -> int | None:
        if self.pgp_keys:
            return len(self.pgp_keys)
        if self.age_recipients:
            return len(keystore.age_recipients(self.age_recipients))
        return None


@dataclass
class InitResult:
    """What a person needs to hear: where things went. Never a key or a token."""

    files: list[Path] = field(default_factory=list)
    members: list[MemberStatus] = field(default_factory=list)
    root_revoked: bool = False
    plaintext_keys: bool = False


def check_request(shares: int, threshold: int, protection: Protection, out_dir: Path) -> None:
    """Every problem with the request, before the server is touched."""
    problems = []
    if protection.pgp_keys and protection.age_recipients:
        problems.append("Give either --pgp-keys or --age-recipients, not both.")
    if not 1 <= threshold <= shares:
        problems.append(f"--key-threshold {threshold} must be between 1 and --key-shares {shares}.")
    if shares > 1 and threshold < 2:
        problems.append(
            "--key-threshold 1 with several shares lets one holder unseal alone: use 2 or more."
        )
    count = protection.count()
    if count is not None and count != shares:
        problems.append(
            f"{count} operator key(s) for {shares} key shares: give exactly one public key per share."
        )
    pgp = [keystore.pgp_public_key_b64(path) for path in protection.pgp_keys]
    for again, first in _repeats(pgp):
        problems.append(
            f"--pgp-keys: key {again} repeats key {first} ({protection.pgp_keys[again - 1]}): "
            "one operator would hold two shares; give one key per operator."
        )
    age = keystore.age_recipients(protection.age_recipients) if protection.age_recipients else []
    for again, first in _repeats(age):
        problems.append(
            f"{protection.age_recipients}: recipient {again} repeats recipient {first}: "
            "one operator would hold two shares; give one recipient per operator."
        )
    if protection.age_recipients and not pgp and count == shares and not problems:
        keystore.check_age_recipients(protection.age_recipients)
    if out_dir.exists() and not out_dir.is_dir():
        problems.append(f"Output folder {out_dir} is a file: give a folder for the keys.")
    elif not out_dir.is_dir():
        if not out_dir.parent.is_dir():
            problems.append(
                f"Output folder {out_dir} cannot be made: {out_dir.parent} does not exist."
            )
    elif stat.S_IMODE(out_dir.stat().st_mode) & 0o077:
        problems.append(
            f"Output folder {out_dir} is open to other users: run `chmod 700 {out_dir}` first."
        )
    else:
        for name in output_names(shares, protection):
            if (out_dir / name).exists():
                problems.append(f"{out_dir / name} already exists: move it away, it may hold keys.")
    raise_if(problems)


def _repeats(items: Sequence[str]) -> list[tuple[int, int]]:
    """(position, first position) of each item seen before, counting from 1."""
    first: dict[str, int] = {}
    found = []
    for number, item in enumerate(items, 1):
        if item in first:
            found.append((number, first[item]))
        first.setdefault(item, number)
    return found


# About the size of the unfinished-init record, so that a nearly full disk shows now.
PROBE_BYTES = 64 * 1024


def prepare_out(out_dir: Path) -> None:
    """Make the output folder and prove it takes a file, before the server makes keys
    that would have nowhere to go."""
    probe = out_dir / f".write-test-{os.getpid()}"
    try:
        out_dir.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as error:
        raise UserError(
            f"Output folder {out_dir} cannot be written ({error.strerror}): "
            "free space or pick another --out; the server was not touched."
        ) from None
    finally:
        probe.unlink(missing_ok=True)


def output_names(shares: int, protection: Protection) -> list[str]:
    if protection.pgp_keys:
        names = [f"unseal-key-{i}.gpg.b64" for i in range(1, shares + 1)]
    elif protection.age_recipients:
        names = [f"unseal-key-{i}.age" for i in range(1, shares + 1)]
    else:
        names = [PLAIN_KEYS_FILE]
    return [*names, ADMIN_TOKEN_FILE, PENDING_FILE]


PLAIN_HEADER = """\
# OpenBao/Vault unseal keys written by `invoke vault.init`.
# MOVE THIS FILE OFF THIS MACHINE NOW: give one key to each operator, keep them apart,
# and delete this file. Anyone holding {threshold} of these keys can unseal the server.
"""


def key_files(threshold: int, protection: Protection, keys_b64: Sequence[str]) -> dict[str, str]:
    """Each key file's name and text, made in memory; age encrypts here, PGP did on the server."""
    if protection.pgp_keys:
        # Decrypt with `base64 -d FILE | gpg --decrypt`.
        return {f"unseal-key-{i}.gpg.b64": blob + "\n" for i, blob in enumerate(keys_b64, 1)}
    plain = {PLAIN_KEYS_FILE: PLAIN_HEADER.format(threshold=threshold) + "\n".join(keys_b64) + "\n"}
    if protection.age_recipients:
        recipients = keystore.age_recipients(protection.age_recipients)
        try:
            return {
                f"unseal-key-{i}.age": keystore.age_encrypt(recipient, key + "\n")
                for i, (recipient, key) in enumerate(zip(recipients, keys_b64, strict=True), 1)
            }
        except UserError:
            # The recipients were tried before init; should age fail now, the server is
            # initialised already, and shares in a 0600 file beat shares lost.
            return plain
    return plain


@dataclass(frozen=True)
class Pending:
    """What init made, kept on disk (0600) from the moment the server answers until the
    root token is revoked, so that a failure at any later step loses nothing."""

    address: str
    threshold: int
    shamir: bool
    root_token: str = field(repr=False)
    files: dict[str, str] = field(repr=False)

    def write(self, path: Path) -> None:
        keystore.write_private(path, json.dumps(dataclasses.asdict(self)))

    @classmethod
    def read(cls, path: Path, first: Endpoint) -> Pending:
        check_private(path, "Unfinished init record")
        try:
            pending = cls(**json.loads(read_text(path, "Unfinished init record")))
        except (ValueError, TypeError):
            raise UserError(
                f"{path} is not the record `invoke vault.init` writes; restore it from a backup."
            ) from None
        if pending.address != first.address:
            raise UserError(
                f"{path} belongs to {pending.address}, not {first.address}: pass that --address."
            )
        return pending


def initialise(
    endpoints: Sequence[Endpoint],
    shares: int,
    threshold: int,
    protection: Protection,
    out_dir: Path,
    prompt_keys: KeyPrompt,
) -> InitResult:
    """Initialise the first member, unseal all, make an admin token, then revoke root.

    Run again with the same `out_dir` after a failure, it finishes what is left.
    """
    import hvac.exceptions
    import requests

    first = endpoints[0]
    status = seal_status(first)
    record = out_dir / PENDING_FILE
    if status.get("initialized"):
        if record.is_file():
            return _finish(endpoints, out_dir, Pending.read(record, first), [], prompt_keys)
        raise UserError(
            f"The server at {first.address} is already initialised; nothing was changed."
        )
    check_request(shares, threshold, protection, out_dir)
    prepare_out(out_dir)
    # With auto-unseal (transit) the server makes recovery keys instead of unseal keys.
    shamir = status.get("type", "shamir") == "shamir"
    prefix = "" if shamir else "recovery_"
    args: dict[str, Any] = {f"{prefix}shares": shares, f"{prefix}threshold": threshold}
    if protection.pgp_keys:
        args[f"{prefix}pgp_keys"] = [keystore.pgp_public_key_b64(p) for p in protection.pgp_keys]
    try:
        reply = raw_client(first).sys.initialize(
            secret_shares=args.get("shares"),
            secret_threshold=args.get("threshold"),
            pgp_keys=args.get("pgp_keys"),
            recovery_shares=args.get("recovery_shares"),
            recovery_threshold=args.get("recovery_threshold"),
            recovery_pgp_keys=args.get("recovery_pgp_keys"),
        )
    except hvac.exceptions.VaultError as error:
        raise UserError(f"The server refused to initialise: {reason(error)}.") from None
    except requests.exceptions.RequestException as error:
        raise unreachable(first, error) from None
    shares_b64 = reply["keys_base64" if shamir else "recovery_keys_base64"]
    pending = Pending(
        first.address,
        threshold,
        shamir,
        reply["root_token"],
        key_files(threshold, protection, shares_b64),
    )
    try:
        pending.write(record)
    except OSError as error:
        # prepare_out wrote as much a moment ago; only a disk filled since gets here.
        raise PartlyDone(
            f"{first.address} is initialised, but {record} could not be written "
            f"({error.strerror}): its keys and root token exist nowhere else.",
            "Stop the server, wipe its storage, free space and run vault.init again.",
        ) from None
    plain = [] if protection.pgp_keys or not shamir else list(shares_b64)
    return _finish(endpoints, out_dir, pending, plain, prompt_keys)


def _finish(
    endpoints: Sequence[Endpoint],
    out_dir: Path,
    pending: Pending,
    keys: list[str],
    prompt_keys: KeyPrompt,
) -> InitResult:
    """Every step after init that is not done yet; the record goes once root is revoked."""
    import hvac.exceptions
    import requests

    first, record = endpoints[0], out_dir / PENDING_FILE
    result = InitResult(plaintext_keys=PLAIN_KEYS_FILE in pending.files)
    token_path = out_dir / ADMIN_TOKEN_FILE
    try:
        for name, text in pending.files.items():
            if not (out_dir / name).exists():
                keystore.write_private(out_dir / name, text)
            result.files.append(out_dir / name)
        if pending.shamir:
            result.members = _unseal(endpoints, pending, keys, prompt_keys)
        if not token_path.exists():
            client = wait_active(first, pending.root_token)
            client.sys.create_or_update_acl_policy(name=ADMIN_POLICY, policy=ADMIN_POLICY_HCL)
            admin = client.auth.token.create_orphan(
                policies=[ADMIN_POLICY], period=ADMIN_TOKEN_PERIOD, display_name=ADMIN_POLICY
            )
            keystore.write_private(token_path, admin["auth"]["client_token"] + "\n")
        result.files.append(token_path)
    except (
        UserError,
        OSError,
        hvac.exceptions.VaultError,
        requests.exceptions.RequestException,
    ) as error:
        raise _unfinished(first, record, _reason(error)) from None
    result.root_revoked = revoke_root(first, pending.root_token)
    if not result.root_revoked:
        raise _unfinished(first, record, "the initial root token could not be revoked")
    record.unlink()
    return result


def _unseal(
    endpoints: Sequence[Endpoint], pending: Pending, keys: list[str], prompt_keys: KeyPrompt
) -> list[MemberStatus]:
    first = endpoints[0]
    if not keys and PLAIN_KEYS_FILE in pending.files:
        keys = keystore.parse_keys(pending.files[PLAIN_KEYS_FILE])
    if seal_status(first).get("sealed") and not keys:
        keys = prompt_keys(pending.threshold)
    # Init asks for a whole quorum: what an earlier, failed attempt entered is dropped.
    members = unseal_all(endpoints, keys, reset=True)
    failed = [m for m in members if m.sealed]
    if failed and failed[0].address == first.address:
        raise UserError(f"{first.address} is still sealed ({failed[0].error})")
    return members


def _reason(error: Exception) -> str:
    if isinstance(error, UserError):
        return error.messages[0].rstrip(".")
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename or 'a key file'}: {error.strerror}"
    return reason(error)


def _unfinished(first: Endpoint, record: Path, reason: str) -> PartlyDone:
    return PartlyDone(
        f"{first.address} is initialised, but init stopped: {reason}.",
        f"Nothing is lost: the key files and the root token are kept in {record} (mode 0600).",
        f"Fix the cause and run `invoke vault.init --out {record.parent}` again: "
        "it finishes the steps that are left.",
    )


def revoke_root(ep: Endpoint, root: str) -> bool:
    """Revoke the initial root token; True once the server no longer accepts it."""
    import hvac.exceptions
    import requests

    client = raw_client(ep, root)
    # Whether this worked is judged below by asking the server, not by this call's answer.
    with contextlib.suppress(hvac.exceptions.VaultError, requests.exceptions.RequestException):
        client.auth.token.revoke_self()
    try:
        client.auth.token.lookup_self()
    except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
        return True
    except (hvac.exceptions.VaultError, requests.exceptions.RequestException):
        return False
    return False
