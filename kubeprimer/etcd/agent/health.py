"""The repository's health: `restic check` runs and restore drills, each recorded.

A stored backup only proves restic accepted the data; a damaged pack is found only by
reading it back. Every check and drill leaves a record in the state folder (shown by
`etcd.list`) and metrics for the alerts. After a failed check, backups report failure
until a check passes again: restic reuses the data it already holds, damaged or not.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from . import metrics
from .config import Config
from .hostlock import exclusive
from .restic import Repository
from .run import BAD_INPUT, AgentError

CHECK = "check"
DRILL = "drill"
# restic's --read-data-subset forms: a percentage or the n-th of t groups of packs.
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)%")
_GROUP = re.compile(r"([1-9]\d{0,5})/([1-9]\d{0,5})")

Say = Callable[[str], None]


def _record_path(config: Config, kind: str) -> Any:
    return config.state_dir / f"last-{kind}.json"


def record(config: Config, kind: str, ok: bool, detail: dict[str, Any]) -> None:
    now = time.time()
    entry = {"ok": ok, "at": now, **detail}
    config.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _record_path(config, kind).write_text(json.dumps(entry) + "\n")
    values = {f"last_{kind}_success": 1.0 if ok else 0.0}
    if ok:
        values[f"last_{kind}_success_timestamp_seconds"] = now
    metrics.write(config.textfile_dir, config.host, values)


def last(config: Config, kind: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads(_record_path(config, kind).read_text())
    except (OSError, ValueError):
        return None
    return found


def status(config: Config) -> dict[str, Any]:
    """The last check and drill this host ran (None when it never ran one)."""
    return {CHECK: last(config, CHECK), DRILL: last(config, DRILL)}


def subset_ok(subset: str) -> bool:
    """What restic accepts: above 0 % and at most 100 %, or n/t with n from 1 to t."""
    if percent := _PERCENT.fullmatch(subset):
        return 0 < float(percent.group(1)) <= 100
    if group := _GROUP.fullmatch(subset):
        return int(group.group(1)) <= int(group.group(2))
    return False


def check(config: Config, say: Say, subset: str) -> dict[str, Any]:
    """restic check of the structure plus a subset of the data packs, recorded."""
    # A subset restic refuses would be recorded as a failed check: refuse it first.
    if not subset_ok(subset):
        raise AgentError(
            f"--read-data-subset {subset!r} is not a subset restic reads; use a percentage "
            "such as 10% or a group such as 1/7.",
            BAD_INPUT,
        )
    started = time.time()
    with exclusive(config.state_dir, config.lock_wait_seconds):
        say(f"checking the repository and reading {subset} of its data")
        try:
            Repository(config).check(subset)
        except AgentError as error:
            record(config, CHECK, False, {"subset": subset, "error": str(error)})
            raise
    detail = {"subset": subset, "seconds": round(time.time() - started, 3)}
    record(config, CHECK, True, detail)
    return {"ok": True, **detail}


def drill_recorded(
    config: Config, snapshot_id: str, say: Say, *, check_repo: bool
) -> dict[str, Any]:
    """A restore drill, with its outcome recorded like a check's."""
    from . import drill  # the drill's modules import the backup's, which imports this one

    with exclusive(config.state_dir, config.lock_wait_seconds):
        try:
            result = drill.drill(config, snapshot_id, say, check_repo=check_repo)
        except AgentError as error:
            # An unknown backup ID drilled nothing: no failed drill, no alert.
            if error.code != BAD_INPUT:
                record(config, DRILL, False, {"error": str(error)})
            raise
    record(config, DRILL, True, {"short_id": result["short_id"]})
    return result


def refuse_after_failed_check(config: Config, stored: dict[str, Any]) -> None:
    """A backup into a repository whose last check failed is not a plain success."""
    failed = last(config, CHECK)
    if failed is None or failed.get("ok"):
        return
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(float(failed["at"])))
    raise AgentError(
        f"backup {stored['short_id']} is stored, but the repository failed its last check "
        f"at {when} ({failed.get('error', 'no detail')}), so this backup may share damaged "
        "data; repair the repository (docs/etcd-backup.md, 'A damaged repository') and run "
        "'kubeprimer-etcd-backup check' as root on this host until it passes."
    )
