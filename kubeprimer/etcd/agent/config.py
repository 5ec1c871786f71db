"""The agent's settings: one JSON file written by the etcd_backup role.

The file holds paths and names only. Secrets stay in their own 0600 files: the
restic password file, and an optional environment file for object-store keys.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .run import BAD_INPUT, AgentError

DEFAULT_PATH = Path("/etc/kubeprimer/etcd-backup/config.json")
SCHEDULE_NAME = "schedule.json"
TAG = "kubeprimer-etcd"
KEEP_POLICIES = ("last", "hourly", "daily", "weekly", "monthly")


@dataclass(frozen=True)
class Config:
    endpoints: list[str]
    repository: str
    password_file: Path
    cacert: str = ""
    cert: str = ""
    key: str = ""
    bin_dir: Path = Path("/usr/local/bin")
    restic: str = "restic"
    env_file: Path | None = None
    # The ssh command restic runs for SFTP, as an argument list (a plain string from
    # older settings files is passed on as it is).
    sftp_command: list[str] | str = ""
    pki_files: list[str] = field(default_factory=list)
    keep: dict[str, int] = field(default_factory=dict)
    state_dir: Path = Path("/var/lib/kubeprimer/etcd-backup")
    textfile_dir: Path | None = None
    host: str = field(default_factory=socket.gethostname)
    data_dir: Path = Path("/var/lib/etcd")
    member_name: str = ""
    data_owner: str = ""
    stagger_seconds: int = 0
    fresh_seconds: int = 0
    prune_every_seconds: int = 0
    command_timeout: int = 30
    # How long a run waits for another run's restic lock before it gives up.
    lock_wait_seconds: int = 60
    # restic's --read-data-subset for a scheduled check.
    check_read_data_subset: str = "10%"

    def tool(self, name: str) -> str:
        """etcdctl/etcdutl/etcd from bin_dir when present there, else from PATH."""
        candidate = self.bin_dir / name
        return str(candidate) if candidate.exists() else name


def load(path: Path = DEFAULT_PATH) -> Config:
    """Read and check the settings file; every problem is a sentence naming the fix."""
    try:
        raw: dict[str, Any] = json.loads(path.read_text())
        # Retention and the timer's manners live beside it, written by the schedule step,
        # so that a plain backup run never resets a schedule the user chose.
        schedule = path.with_name(SCHEDULE_NAME)
        if schedule.exists():
            raw.update(json.loads(schedule.read_text()))
    except FileNotFoundError:
        raise AgentError(
            f"{path} does not exist; apply the etcd_backup role to this host first.", BAD_INPUT
        ) from None
    except (OSError, ValueError) as error:
        raise AgentError(
            f"{path} is not readable JSON ({error}); re-apply the role.", BAD_INPUT
        ) from None
    problems = []
    for required in ("endpoints", "repository", "password_file"):
        if not raw.get(required):
            problems.append(f"{path} lacks '{required}'")
    keep = raw.get("keep") or {}
    bad_keep = [
        k for k, v in keep.items() if k not in KEEP_POLICIES or not isinstance(v, int) or v < 0
    ]
    if bad_keep:
        problems.append(f"keep has unknown policies or negative counts: {', '.join(bad_keep)}")
    if problems:
        raise AgentError("; ".join(problems) + "; re-apply the etcd_backup role.", BAD_INPUT)
    paths = {"password_file", "bin_dir", "env_file", "state_dir", "textfile_dir", "data_dir"}
    values: dict[str, Any] = {
        k: (Path(v) if k in paths and v else v) for k, v in raw.items() if k in _FIELDS
    }
    for optional in ("env_file", "textfile_dir"):
        if not raw.get(optional):
            values[optional] = None
    if not raw.get("host"):
        values.pop("host", None)
    return Config(**values)


_FIELDS = set(Config.__dataclass_fields__)


def read_env_file(path: Path | None) -> dict[str, str]:
    """KEY=VALUE lines (the systemd EnvironmentFile format) for restic's backend keys."""
    if path is None:
        return {}
    try:
        text = path.read_text()
    except OSError as error:
        raise AgentError(
            f"cannot read {path} ({error.strerror}); re-apply the role.", BAD_INPUT
        ) from None
    except UnicodeDecodeError:
        raise AgentError(
            f"{path} is not UTF-8 text; write the S3 keys as plain text and re-apply the role.",
            BAD_INPUT,
        ) from None
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if not key.strip().startswith("AWS_"):
            # Only the S3 keys belong here; a key with a newline in it would hand restic
            # any variable (LD_PRELOAD, RESTIC_PASSWORD_COMMAND). Name no value: it is secret.
            raise AgentError(
                f"{path} holds more than the S3 keys (is there a newline in one?); fix "
                "etcd_backup_s3_access_key_id and etcd_backup_s3_secret_access_key and "
                "re-apply the role.",
                BAD_INPUT,
            )
        env[key.strip()] = value.strip().strip('"')
    return env


def check_private(path: Path) -> None:
    """Refuse a secret file that others can read: the password would already be exposed."""
    try:
        mode = path.stat().st_mode
    except OSError:
        raise AgentError(
            f"the restic password file {path} is missing; re-apply the role.", BAD_INPUT
        ) from None
    if mode & 0o077:
        raise AgentError(f"{path} is readable by others; run chmod 600 {path}.", BAD_INPUT)


def env_for(config: Config) -> dict[str, str]:
    """The environment restic needs: repository, password file, cache, backend keys."""
    env = read_env_file(config.env_file)
    env.update(
        {
            "RESTIC_REPOSITORY": config.repository,
            "RESTIC_PASSWORD_FILE": str(config.password_file),
            "RESTIC_CACHE_DIR": str(config.state_dir / "cache"),
        }
    )
    # The environment the agent was started with must not point restic elsewhere.
    for stray in ("RESTIC_PASSWORD", "RESTIC_PASSWORD_COMMAND", "RESTIC_REPOSITORY_FILE"):
        os.environ.pop(stray, None)
    return env
