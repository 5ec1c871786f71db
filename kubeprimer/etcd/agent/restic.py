"""restic, the backup store: encryption, deduplication, retention and checks.

Every call names the failure in words. restic 0.14 (Debian 12) exits 1 for most
fatal errors, newer releases use 10 (no repository), 11 (lock failed) and 12
(wrong password); both are recognised, from the exit status and from the message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import TAG, Config, env_for
from .locks import Lock
from .run import BAD_INPUT, AgentError, last_line, run

LOCK_WAIT_SECONDS = 10.0
LOCKED = "another restic run holds a lock on"


@dataclass(frozen=True)
class Snapshot:
    id: str
    short_id: str
    time: str
    hostname: str
    tags: dict[str, str]

    @property
    def timestamp(self) -> float:
        return parse_time(self.time)

    @property
    def revision(self) -> int:
        return int(self.tags.get("rev", "0") or 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "short_id": self.short_id,
            "time": self.time,
            "host": self.tags.get("host", self.hostname),
            "revision": self.revision,
            "size": int(self.tags.get("size", "0") or 0),
            "etcd_version": self.tags.get("etcd", ""),
            "keys": int(self.tags.get("keys", "0") or 0),
        }


def explain(stderr: str, code: int, repository: str) -> str:
    """Turn restic's failure into one sentence a person can act on."""
    text = stderr.lower()
    if code == 12 or "wrong password" in text:
        return (
            f"restic could not open {repository} with the configured password; "
            "check the password file (the repository and its backups are untouched)."
        )
    if code == 11 or "already locked" in text or "unable to create lock" in text:
        return (
            f"{LOCKED} {repository}; wait for it to end, or run "
            "'kubeprimer-etcd-backup unlock' as root on an etcd member to remove stale locks."
        )
    missing = (
        f"there is no restic repository at {repository}; run the etcd_backup role to create it."
    )
    if code == 10:
        return missing
    if (
        "no matching id found" in text
        or "no snapshot matched" in text
        or "no snapshot found" in text
    ):
        return "that backup ID does not exist in the repository; list the backups with 'invoke etcd.list'."
    refused_keys = (
        "access key id you provided does not exist",
        "signature we calculated does not match",
        "signaturedoesnotmatch",
        "invalidaccesskeyid",
        "access denied",
    )
    if any(marker in text for marker in refused_keys):
        return (
            f"the bucket of {repository} refused the S3 keys ({last_line(stderr)}); check "
            "etcd_backup_s3_access_key_id and etcd_backup_s3_secret_access_key."
        )
    unreachable = (
        "connection refused",
        "no route to host",
        "timeout",
        "timed out",
        "no such host",
        "ssh command exited",
        "permission denied",
        "network is unreachable",
        "connection reset",
        "unable to open repository",
        "dial tcp",
    )
    if any(marker in text for marker in unreachable):
        return (
            f"the backup target {repository} cannot be reached ({last_line(stderr)}); "
            "check the backup host or bucket, its address and its credentials."
        )
    # restic before 0.17 asks this after any failure to read the config, including a
    # refused connection, so it counts only once the target is known to answer.
    if "is there a repository at the following location" in text:
        return missing
    damaged = (
        "repository contains errors",
        "ciphertext verification failed",
        "hash mismatch",
        "invalid data returned",
        "unexpected eof",
        "decrypting blob",
    )
    if any(marker in text for marker in damaged):
        return (
            f"the backup repository {repository} is damaged ({last_line(stderr)}); run "
            "'kubeprimer-etcd-backup check --read-data-subset 100%' as root on an etcd member "
            "to see the damage, and drill an earlier backup with 'invoke etcd.verify --snapshot ID'."
        )
    if code == 3:
        return "restic could not read every file for the backup; check the files it names."
    return f"restic failed: {last_line(stderr)}"


def sftp_command(command: list[str] | str) -> str:
    """The ssh command as restic's sftp.command, each argument kept whole.

    restic splits that option on commas (it is a list option) and then on spaces,
    keeping single-quoted words together; it knows no escapes. So each argument is
    single-quoted, and one that could break out of its quotes is refused.
    """
    if isinstance(command, str):
        return command
    unsafe = [arg for arg in command if any(c in arg for c in "'\",\n")]
    if unsafe:
        raise AgentError(
            f"the ssh command for the backup host has unsafe arguments ({', '.join(unsafe)}); "
            "fix etcd_backup_sftp_address, etcd_backup_sftp_user and re-apply the role.",
            BAD_INPUT,
        )
    return " ".join(f"'{arg}'" for arg in command)


class Repository:
    """One restic repository as configured for this cluster."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.env = env_for(config)

    def _argv(self, *args: str) -> list[str]:
        argv = [self.config.restic]
        if self.config.sftp_command:
            argv += ["-o", f"sftp.command={sftp_command(self.config.sftp_command)}"]
        return [*argv, *args]

    def call(self, *args: str, timeout: float = 3600, retry_lock: bool = True) -> str:
        """Run restic; removes provably stale locks, waits out live ones, never forces."""
        deadline = time.monotonic() + self.config.lock_wait_seconds
        cleared = False
        while True:
            done = run(self._argv(*args), env=self.env, timeout=timeout, what=f"restic {args[0]}")
            if done.returncode == 0:
                return done.stdout
            message = explain(done.stderr, done.returncode, self.config.repository)
            if not message.startswith(LOCKED) or not retry_lock:
                raise AgentError(message)
            if not cleared and self.remove_stale_locks():
                cleared = True
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise AgentError(self.lock_message())
            time.sleep(min(LOCK_WAIT_SECONDS, left))

    def passthrough(self, args: Sequence[str]) -> int:
        """Run restic as given, with this repository's settings; its output goes straight out."""
        argv = self._argv(*args)
        return subprocess.run(argv, env={**os.environ, **self.env}, check=False).returncode

    def locks(self) -> list[Lock]:
        """The repository's locks; one that vanishes while it is read is left out."""
        out = self.call("list", "locks", "--no-lock", timeout=120, retry_lock=False)
        found = []
        for lock_id in out.split():
            done = run(
                self._argv("cat", "lock", lock_id, "--no-lock"),
                env=self.env,
                timeout=120,
                what="restic cat lock",
            )
            if done.returncode == 0:
                found.append(Lock.from_json(lock_id, json.loads(done.stdout), parse_time))
        return found

    def remove_stale_locks(self) -> list[Lock]:
        """Remove the locks of runs that are certainly gone (restic's own rule); never others."""
        stale = [lock for lock in self.locks() if lock.stale()]
        if stale:
            self.call("unlock", timeout=120, retry_lock=False)
            for lock in stale:
                print(
                    f"removed the stale {lock.describe().removeprefix('an ').removeprefix('a ')}",
                    file=sys.stderr,
                )
        return stale

    def unlock(self) -> dict[str, Any]:
        """What `kubeprimer-etcd-backup unlock` does: stale locks go, live ones are named."""
        removed = self.remove_stale_locks()
        kept = self.locks()
        return {
            "removed": [lock.id[:8] for lock in removed],
            "kept": [f"{lock.describe()}: {lock.advice()}" for lock in kept],
        }

    def lock_message(self) -> str:
        held = [lock for lock in self.locks() if not lock.stale()]
        if not held:
            return f"{self.config.repository} stayed locked; run the command again."
        return (
            f"{self.config.repository} is held by "
            + "; and by ".join(f"{lock.describe()}: {lock.advice()}" for lock in held)
            + "."
        )

    def exists(self) -> bool:
        """True when the repository opens with our password; False when there is none."""
        done = run(self._argv("cat", "config"), env=self.env, timeout=120, what="restic cat config")
        if done.returncode == 0:
            return True
        message = explain(done.stderr, done.returncode, self.config.repository)
        if message.startswith("there is no restic repository"):
            return False
        raise AgentError(message)

    def init(self) -> bool:
        """Create the repository unless it exists; True when it was created."""
        if self.exists():
            return False
        self.call("init", timeout=300)
        return True

    def snapshots(self) -> list[Snapshot]:
        out = self.call("snapshots", "--json", "--tag", TAG, timeout=300)
        found = [_snapshot(raw) for raw in json.loads(out or "[]") or []]
        return sorted(found, key=lambda s: s.timestamp)

    def find(self, snapshot_id: str | None) -> Snapshot:
        """The snapshot with that ID (or ID prefix), or the newest one when none is given."""
        found = self.snapshots()
        if not found:
            raise AgentError(
                "the repository holds no etcd backups yet; run 'invoke etcd.backup' first."
            )
        if not snapshot_id or snapshot_id == "latest":
            return found[-1]
        matches = [s for s in found if s.id.startswith(snapshot_id)]
        if len(matches) != 1:
            what = (
                "does not exist" if not matches else "matches several backups; give more characters"
            )
            raise AgentError(
                f"backup ID {snapshot_id} {what}; list the backups with 'invoke etcd.list'.",
                BAD_INPUT,
            )
        return matches[0]

    def backup(self, directory: Path, tags: Sequence[str]) -> str:
        """Back up one directory; returns the new snapshot's ID."""
        args = ["backup", "--json", "--host", self.config.host]
        for tag in (TAG, *tags):
            args += ["--tag", tag]
        out = self.call(*args, str(directory))
        for line in reversed(out.strip().splitlines()):
            message = json.loads(line)
            if message.get("message_type") == "summary":
                # restic 0.14 prints the short ID, newer releases the full one; both
                # are prefixes that find() and restic itself accept.
                return str(message["snapshot_id"])
        raise AgentError(
            "restic backup printed no summary; check the restic version (0.14 or newer)."
        )

    def forget(self, prune: bool) -> bool:
        """Apply retention over this cluster's backups from every host; False when unset.

        Forgetting is cheap; pruning (freeing the data of forgotten backups) reads the
        whole repository, so the caller asks for it only now and then.
        """
        policy = [f"--keep-{name}={count}" for name, count in self.config.keep.items() if count > 0]
        if not policy:
            return False
        # Group by path: every host stages into the same path, so retention counts
        # the cluster's backups, not each host's.
        args = ["forget", "--tag", TAG, "--group-by", "paths", *policy]
        self.call(*args, *(["--prune"] if prune else []))
        return True

    def restore(self, snapshot: Snapshot, target: Path, include: Sequence[str]) -> None:
        args = ["restore", snapshot.id, "--target", str(target)]
        for pattern in include:
            args += ["--include", pattern]
        self.call(*args)

    def check(self, subset: str = "5%") -> None:
        """Structural check of the repository, plus reading a subset of the data packs."""
        self.call("check", f"--read-data-subset={subset}", timeout=6 * 3600)


def parse_time(text: str) -> float:
    """restic's RFC 3339 time (nanoseconds, any offset) as a Unix timestamp."""
    # datetime takes at most microseconds: cut the fraction to six digits.
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(trimmed).timestamp()


def _snapshot(raw: dict[str, Any]) -> Snapshot:
    tags = {}
    for tag in raw.get("tags") or []:
        key, _, value = str(tag).partition("=")
        tags[key] = value
    return Snapshot(
        id=str(raw["id"]),
        short_id=str(raw.get("short_id", str(raw["id"])[:8])),
        time=str(raw["time"]),
        hostname=str(raw.get("hostname", "")),
        tags=tags,
    )
