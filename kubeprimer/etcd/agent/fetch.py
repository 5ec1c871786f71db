"""Bringing one backup back from the repository and proving the file is the one stored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .backup import MANIFEST_NAME, SNAPSHOT_NAME, sha256, stage_dir
from .config import Config
from .etcd import Etcd, SnapshotStatus
from .restic import Repository, Snapshot
from .run import AgentError


def fetch(config: Config, repo: Repository, snapshot: Snapshot, target: Path) -> dict[str, Any]:
    """Restore the snapshot file and manifest into target; check hash and status.

    Returns the manifest. A damaged file fails here, before anything uses it.
    """
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(mode=0o700, parents=True)
    stage = stage_dir(config)
    wanted = [str(stage / SNAPSHOT_NAME), str(stage / MANIFEST_NAME)]
    repo.restore(snapshot, target, wanted)
    restored = target / stage.relative_to("/")
    file, manifest_file = restored / SNAPSHOT_NAME, restored / MANIFEST_NAME
    if not file.is_file() or not manifest_file.is_file():
        raise AgentError(f"backup {snapshot.short_id} holds no etcd snapshot; pick another backup.")
    manifest: dict[str, Any] = json.loads(manifest_file.read_text())
    if sha256(file) != manifest["sha256"]:
        raise AgentError(
            f"backup {snapshot.short_id} is corrupted: its snapshot does not match the checksum "
            "taken at backup time; restore an earlier backup and run 'restic check'."
        )
    status: SnapshotStatus = Etcd(config).snapshot_status(file)
    if (status.hash, status.revision) != (manifest["hash"], manifest["revision"]):
        raise AgentError(
            f"backup {snapshot.short_id} is corrupted: etcd reads hash {status.hash} revision "
            f"{status.revision}, the backup recorded {manifest['hash']} {manifest['revision']}."
        )
    manifest["file"] = str(file)
    return manifest
