"""One backup: snapshot a healthy member, check it, store it with the PKI, prune.

Earlier backups are never touched by a failed run: restic only adds a snapshot
after the whole upload succeeded, and retention runs only after that.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import health, metrics
from .config import Config
from .etcd import Etcd
from .hostlock import exclusive
from .restic import Repository
from .run import AgentError

SNAPSHOT_NAME = "etcd-snapshot.db"
MANIFEST_NAME = "manifest.json"
PKI_DIR = "pki"

Say = Callable[[str], None]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stage_dir(config: Config) -> Path:
    # Always the same path on every host: retention groups the cluster's backups by it.
    return config.state_dir / "stage"


def _stage_pki(config: Config, stage: Path) -> list[str]:
    """Copy the PKI into the stage, keeping each file's absolute path below pki/."""
    copied, missing = [], []
    for name in config.pki_files:
        source = Path(name)
        if not source.is_file():
            missing.append(name)
            continue
        target = stage / PKI_DIR / source.relative_to("/")
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copy2(source, target)
        os.chmod(target, 0o600)
        copied.append(name)
    if missing:
        raise AgentError(
            f"PKI files to back up are missing: {', '.join(missing)}; fix etcd_backup_pki_files."
        )
    return copied


def _fresh_elsewhere(config: Config, repo: Repository, say: Say) -> dict[str, Any] | None:
    """For a timer run: another member's timer may already have backed up this period."""
    if config.stagger_seconds:
        time.sleep(config.stagger_seconds)
    if not config.fresh_seconds:
        return None
    snapshots = repo.snapshots()
    if snapshots and time.time() - snapshots[-1].timestamp < config.fresh_seconds:
        newest = snapshots[-1]
        say(f"skipped: backup {newest.short_id} from {newest.hostname} is recent enough")
        metrics.write(
            config.textfile_dir,
            config.host,
            {
                "last_success_timestamp_seconds": newest.timestamp,
                "last_attempt_timestamp_seconds": time.time(),
                "last_success": 1,
            },
        )
        return {"skipped": True, **newest.as_dict()}
    return None


def backup(config: Config, say: Say, *, scheduled: bool = False) -> dict[str, Any]:
    """Take, check, store and prune one backup; returns what was stored."""
    started = time.time()
    try:
        with exclusive(config.state_dir, config.lock_wait_seconds):
            repo = Repository(config)
            if scheduled and (skipped := _fresh_elsewhere(config, repo, say)):
                return skipped
            result = _take(config, repo, say, started)
            health.refuse_after_failed_check(config, result)
    except AgentError:
        metrics.write(
            config.textfile_dir,
            config.host,
            {
                "last_attempt_timestamp_seconds": time.time(),
                "last_success": 0,
            },
        )
        raise
    metrics.write(
        config.textfile_dir,
        config.host,
        {
            "last_success_timestamp_seconds": time.time(),
            "last_attempt_timestamp_seconds": started,
            "last_success": 1,
            "duration_seconds": result["duration_seconds"],
            "size_bytes": result["size"],
            "revision": result["revision"],
        },
    )
    return result


def _take(config: Config, repo: Repository, say: Say, started: float) -> dict[str, Any]:
    etcd = Etcd(config)
    endpoint, version = etcd.healthy_endpoint()
    say(f"snapshot from {endpoint} (etcd {version})")
    stage = stage_dir(config)
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(mode=0o700, parents=True)
    try:
        snapshot = stage / SNAPSHOT_NAME
        partial = stage / f"{SNAPSHOT_NAME}.part"
        etcd.snapshot_save(endpoint, partial)
        status = etcd.snapshot_status(partial)
        partial.rename(snapshot)
        members = etcd.members(endpoint)
        keys = etcd.key_count(endpoint, status.revision)
        manifest = {
            "format": 1,
            "taken_at": time.time(),
            "host": config.host,
            "endpoint": endpoint,
            "etcd_version": version,
            "revision": status.revision,
            "hash": status.hash,
            "total_keys": status.total_keys,
            "live_keys": keys,
            "size": snapshot.stat().st_size,
            "sha256": sha256(snapshot),
            "members": [m.__dict__ for m in members],
            "pki": _stage_pki(config, stage),
        }
        (stage / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        say(f"snapshot checked: revision {status.revision}, {manifest['size']} bytes; storing")
        tags = [
            f"host={config.host}",
            f"rev={status.revision}",
            f"etcd={version}",
            f"size={manifest['size']}",
            f"keys={keys}",
        ]
        snapshot_id = repo.backup(stage, tags)
    finally:
        # The stage holds the snapshot and CA keys: never leave them on disk.
        shutil.rmtree(stage, ignore_errors=True)
    say(f"stored as restic snapshot {snapshot_id[:8]}")
    pruned = _prune(config, repo, say)
    return {
        "id": snapshot_id,
        "short_id": snapshot_id[:8],
        "host": config.host,
        "endpoint": endpoint,
        "etcd_version": version,
        "revision": manifest["revision"],
        "size": manifest["size"],
        "keys": keys,
        "pki": manifest["pki"],
        "pruned": pruned,
        "duration_seconds": round(time.time() - started, 3),
    }


def _prune(config: Config, repo: Repository, say: Say) -> bool:
    """Retention after a stored backup; its failure is reported, the backup stands."""
    stamp = config.state_dir / "last-prune"
    due = not stamp.exists() or time.time() - stamp.stat().st_mtime >= config.prune_every_seconds
    try:
        applied = repo.forget(prune=due)
    except AgentError as error:
        say(f"warning: the backup is stored, but pruning old backups failed: {error}")
        return False
    if applied and due:
        stamp.touch()
    return applied
