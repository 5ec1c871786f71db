"""Command line of kubeprimer-etcd-backup.

Progress goes to stderr (the journal, for timer runs); the result is one JSON
line on stdout for the playbooks; a failure is one sentence on stderr and a
non-zero exit status (2 for a setting to fix, 1 for a failed operation).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import backup, config, health, restore
from .restic import Repository
from .run import AgentError

PROG = "kubeprimer-etcd-backup"
RESULT_NAME = "last-backup.json"


def say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=PROG, description="etcd backups with restic.")
    top.add_argument("--config", type=Path, default=config.DEFAULT_PATH, help="settings file")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("backup", help="take one backup now")
    run.add_argument(
        "--scheduled",
        action="store_true",
        help="timer run: wait this host's turn, skip if another member just backed up",
    )
    sub.add_parser("init", help="create the restic repository unless it exists")
    listing = sub.add_parser("list", help="the backups in the repository")
    listing.add_argument(
        "--status", action="store_true", help="with this host's last check and drill"
    )
    verify = sub.add_parser("check", help="check the repository and read a subset of its data")
    verify.add_argument(
        "--read-data-subset",
        dest="subset",
        default="",
        help="restic's subset of data packs to read, e.g. 10%% or 1/7 (default: the setting)",
    )
    sub.add_parser(
        "unlock", help="remove the restic locks of runs that are gone (never a live one)"
    )
    raw = sub.add_parser(
        "restic", help="run any restic command on this cluster's repository, e.g. 'restic check'"
    )
    raw.add_argument("restic_args", nargs=argparse.REMAINDER, help="restic's arguments")
    check = sub.add_parser("drill", help="restore a backup into a throwaway etcd and check it")
    check.add_argument("--snapshot", default="", help="backup ID (default: the newest)")
    check.add_argument("--no-repo-check", action="store_true", help="skip 'restic check'")
    stage = sub.add_parser("stage-restore", help="fetch and check a backup before a restore")
    stage.add_argument("--snapshot", required=True, help="backup ID")
    member = sub.add_parser("restore-member", help="rebuild this member's data directory")
    member.add_argument("--snapshot", required=True, help="backup ID (staged before)")
    member.add_argument("--token", required=True, help="the new initial cluster token")
    member.add_argument("--name", default="", help="this member's name in the backup")
    finish = sub.add_parser("finish-restore", help="check the restored cluster")
    finish.add_argument("--snapshot", required=True, help="backup ID")
    finish.add_argument("--token", required=True, help="the token the restore used")
    return top


def dispatch(args: argparse.Namespace, settings: config.Config) -> Any:
    if args.command == "backup":
        return backup.backup(settings, say, scheduled=args.scheduled)
    if args.command == "init":
        return {"created": Repository(settings).init()}
    if args.command == "list":
        backups = [s.as_dict() for s in Repository(settings).snapshots()]
        return {"backups": backups, **health.status(settings)} if args.status else backups
    if args.command == "check":
        return health.check(settings, say, args.subset or settings.check_read_data_subset)
    if args.command == "unlock":
        return Repository(settings).unlock()
    if args.command == "drill":
        return health.drill_recorded(
            settings, args.snapshot, say, check_repo=not args.no_repo_check
        )
    if args.command == "stage-restore":
        return restore.stage(settings, args.snapshot)
    if args.command == "restore-member":
        return restore.restore_member(settings, args.snapshot, args.token, args.name)
    return restore.finish(settings, args.snapshot, args.token)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = None
    try:
        settings = config.load(args.config)
        config.check_private(settings.password_file)
        if args.command == "restic":
            # restic's own output and exit status, as a person at the terminal expects.
            return Repository(settings).passthrough(args.restic_args)
        result = dispatch(args, settings)
    except AgentError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        _record(args, settings, {"ok": False, "error": str(error)})
        return error.code
    _record(args, settings, {"ok": True, **result} if isinstance(result, dict) else result)
    print(json.dumps(result))
    return 0


def _record(args: argparse.Namespace, settings: config.Config | None, result: Any) -> None:
    """A backup started through systemd leaves its result where the playbook reads it."""
    if args.command != "backup" or settings is None:
        return
    settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (settings.state_dir / RESULT_NAME).write_text(json.dumps(result) + "\n")


if __name__ == "__main__":
    sys.exit(main())
