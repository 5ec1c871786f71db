"""Disaster recovery on one member: rebuild its data directory from a backup.

The playbook drives the order across the cluster (fetch everywhere, stop the API
servers and etcd, restore every member, start, check); this module is the part
that runs on each member. The old data is kept aside inside the data directory (which
may be a mount point), never deleted, and the backup stays staged until the restored
cluster is checked: a restore that stopped part-way is finished by running it again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pwd
import shutil
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .backup import sha256
from .config import Config
from .etcd import Etcd
from .fetch import fetch
from .restic import Repository
from .run import BAD_INPUT, AgentError
from .swap import Swap

MARKER_PREFIX = "/kubeprimer/restore/"
STAGED_NAME = "staged.json"


def restore_dir(config: Config) -> Path:
    return config.state_dir / "restore"


def _journal(config: Config, data_dir: Path) -> Path:
    """The swap journal of one data directory, removed with the staged backup at the end."""
    return restore_dir(config) / f"swap-{hashlib.sha256(bytes(data_dir)).hexdigest()[:16]}.json"


def stage(config: Config, snapshot_id: str) -> dict[str, Any]:
    """Fetch and check the backup on this member before anything is stopped."""
    if not snapshot_id:
        raise AgentError("give the backup ID to restore (see 'invoke etcd.list').", BAD_INPUT)
    manifest = _still_staged(config, snapshot_id) or _fetch_and_stage(config, snapshot_id)
    return {
        "id": manifest["id"],
        "short_id": manifest["id"][:8],
        "revision": manifest["revision"],
        "members": [m["name"] for m in manifest["members"]],
    }


def _still_staged(config: Config, snapshot_id: str) -> dict[str, Any] | None:
    """The copy a restore that stopped part-way staged, when it is intact.

    A re-run then finishes the restore without the backup target, which may be what
    went away.
    """
    try:
        manifest: dict[str, Any] = json.loads((restore_dir(config) / STAGED_NAME).read_text())
    except (OSError, ValueError):
        return None
    file = Path(str(manifest.get("file", "")))
    if not str(manifest.get("id", "")).startswith(snapshot_id) or not file.is_file():
        return None
    return manifest if sha256(file) == manifest.get("sha256") else None


def _fetch_and_stage(config: Config, snapshot_id: str) -> dict[str, Any]:
    repo = Repository(config)
    snapshot = repo.find(snapshot_id)
    # Fetched aside first: a failed fetch leaves an earlier staged copy (and the journal
    # of a restore that stopped part-way) as they were.
    fetching, fetched = restore_dir(config) / "fetching", restore_dir(config) / "fetched"
    manifest = fetch(config, repo, snapshot, fetching)
    shutil.rmtree(fetched, ignore_errors=True)
    fetching.rename(fetched)
    manifest["file"] = str(fetched / Path(manifest["file"]).relative_to(fetching))
    manifest["id"] = snapshot.id
    (restore_dir(config) / STAGED_NAME).write_text(json.dumps(manifest) + "\n")
    return manifest


def _staged(config: Config, snapshot_id: str) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((restore_dir(config) / STAGED_NAME).read_text())
    except OSError:
        raise AgentError("no backup is staged on this member; run the stage step first.") from None
    if not manifest["id"].startswith(snapshot_id):
        raise AgentError(
            f"the staged backup is {manifest['id'][:8]}, not {snapshot_id}; stage again."
        )
    return manifest


def _local_addresses() -> set[str]:
    names = {socket.gethostname(), socket.getfqdn()}
    addresses = {"127.0.0.1", "::1"}
    for name in names:
        try:
            addresses |= {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
        except OSError:
            continue
    return addresses | names


def this_member(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    """The recorded member this host is: by name when given, else by its peer address."""
    members: list[dict[str, Any]] = manifest["members"]
    if name:
        chosen = [m for m in members if m["name"] == name]
    else:
        local = _local_addresses()
        chosen = [
            m
            for m in members
            if m["name"] in local or any(urlparse(u).hostname in local for u in m["peer_urls"])
        ]
    if len(chosen) != 1:
        recorded = ", ".join(m["name"] for m in members)
        raise AgentError(
            f"cannot tell which of the recorded members ({recorded}) this host is; "
            "set etcd_backup_member_name for it.",
            BAD_INPUT,
        )
    return chosen[0]


def _owner(config: Config, data_dir: Path) -> tuple[int, int]:
    """etcd's user: the configured one, else whoever owned the old data directory."""
    if config.data_owner:
        try:
            entry = pwd.getpwnam(config.data_owner)
        except KeyError:
            raise AgentError(
                f"the user {config.data_owner} that runs etcd does not exist on this host; "
                "fix etcd_backup_data_dir_owner.",
                BAD_INPUT,
            ) from None
        return entry.pw_uid, entry.pw_gid
    if data_dir.exists():
        stat = data_dir.stat()
        return stat.st_uid, stat.st_gid
    return os.getuid(), os.getgid()


def _etcd_running(data_dir: Path) -> bool:
    """etcd holds an exclusive lock on its database while it runs."""
    db = data_dir / "member" / "snap" / "db"
    if not db.exists():
        return False
    with open(db, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def restore_member(config: Config, snapshot_id: str, token: str, name: str = "") -> dict[str, Any]:
    """Replace this member's data with the staged backup; a re-run finishes a broken one."""
    manifest = _staged(config, snapshot_id)
    member = this_member(manifest, name or config.member_name)
    data_dir = config.data_dir
    if _etcd_running(data_dir):
        raise AgentError(f"etcd is still running on {data_dir}; stop it before restoring.")
    etcd = Etcd(config)
    bump = etcd.supports_bump()
    swap = Swap(data_dir, _journal(config, data_dir))
    state = swap.load(manifest["id"])
    if state.get("state") == "swapped" and state.get("token") == token:
        return _result(member, data_dir, state["kept"], bump, manifest)
    try:
        if not (
            state.get("state") == "ready" and state.get("token") == token and swap.fresh_ready()
        ):
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.rmtree(swap.fresh, ignore_errors=True)
            initial = ",".join(f"{m['name']}={m['peer_urls'][0]}" for m in manifest["members"])
            etcd.restore(
                Path(manifest["file"]),
                swap.fresh,
                name=member["name"],
                initial_cluster=initial,
                peer_urls=member["peer_urls"][0],
                token=token,
                bump=bump,
            )
            uid, gid = _owner(config, data_dir)
            for entry in [str(data_dir), *_tree(swap.fresh)]:
                os.chown(entry, uid, gid)
            os.chmod(data_dir, 0o700)
            # A swap that stopped part-way goes on into the same folder of old data.
            kept = state.get("kept") if state.get("state") == "ready" else None
            state = swap.save(manifest["id"], token, "ready", kept or swap.new_kept())
        swap.run(Path(state["kept"]))
        state = swap.save(manifest["id"], token, "swapped", state["kept"])
    except (AgentError, OSError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        where = getattr(error, "filename", None) or ""
        kept_now = state.get("kept") or "the data directory itself"
        raise AgentError(
            f"the restore of {data_dir} stopped part-way ({reason}{': ' + str(where) if where else ''}); "
            f"nothing is lost: the old data is in {kept_now} and backup {snapshot_id} stays "
            # Only the task knows the inventory: it names the exact command to run.
            "staged; fix that and run the same restore again to finish it."
        ) from None
    return _result(member, data_dir, state["kept"], bump, manifest)


def _tree(root: Path) -> list[str]:
    return [
        entry
        for folder, dirs, files in os.walk(root)
        for entry in [folder, *(os.path.join(folder, n) for n in dirs + files)]
    ]


def _result(
    member: dict[str, Any], data_dir: Path, kept: str, bump: bool, manifest: dict[str, Any]
) -> dict[str, Any]:
    return {
        "member": member["name"],
        "data_dir": str(data_dir),
        "kept": kept if Path(kept).is_dir() else "",
        "bumped": bump,
        "revision": manifest["revision"],
    }


def finish(config: Config, snapshot_id: str, token: str) -> dict[str, Any]:
    """After every member started: all healthy, the backup's revision, a restore record."""
    etcd = Etcd(config)
    answers = etcd.ctl(config.endpoints, "endpoint", "health", wait=10)
    sick = [a["endpoint"] for a in answers if not a.get("health")]
    if sick:
        raise AgentError(f"etcd members are not healthy after the restore: {', '.join(sick)}.")
    manifest = _staged(config, snapshot_id)
    endpoint = config.endpoints[0]
    # A record of the restore; it also moves the revision past the backup's, which
    # is all an etcdutl without --bump-revision can offer.
    record = json.dumps({"snapshot": manifest["id"], "token": token, "at": time.time()})
    etcd.ctl([endpoint], "put", MARKER_PREFIX + token, record)
    revision = etcd.revision(endpoint)
    if revision <= manifest["revision"]:
        raise AgentError(f"the revision after restore ({revision}) is not above the backup's.")
    shutil.rmtree(restore_dir(config), ignore_errors=True)
    return {"healthy": len(answers), "revision": revision, "backup_revision": manifest["revision"]}
