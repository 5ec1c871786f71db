"""Collect what each host's tasks managed in a cluster.up stage, for converge_state.

A play opts in with the play variable ``kubeprimer_stage``. For every task that
succeeded on a host in such a play, this notes the resources the task manages (the
files it wrote, packages, units, kernel modules, users, and read-only probe commands
with their arguments) in ``$KUBEPRIMER_CONVERGE_DIR/<host>/<stage>.json``. The play's
last task hands that list to the converge_state module, which records their state on
the host. Without the variable set (a playbook run by hand) nothing is collected.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: converge_state
type: aggregate
short_description: Collect the resources each cluster.up stage manages
description:
  - Writes, per host and stage, the resources that stage's tasks managed, for the
    converge_state module to record.
requirements:
  - the play variable kubeprimer_stage, and KUBEPRIMER_CONVERGE_DIR in the environment
"""

# Modules whose path-like arguments name something they read, not something they manage.
READ_ONLY = {
    "assert", "command", "crypto_info", "debug", "fail", "find", "include_role",
    "include_tasks", "meta", "openssl_csr_pipe", "script", "set_fact", "setup", "shell",
    "slurp", "stat", "uri", "wait_for", "converge_state",
}  # fmt: skip
PACKAGES = {"apt": "package", "dpkg_selections": "selection"}
NAMED = {
    "systemd_service": "unit", "systemd": "unit", "service": "unit", "modprobe": "kmod",
    "user": "user",
}  # fmt: skip
PATH_KEYS = ("dest", "path", "filename")


def short(action: str) -> str:
    return action.rsplit(".", 1)[-1]


def as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value or []]


def resources_of(action: str, result: dict[str, Any], args: dict[str, Any]) -> list[str]:
    """The resources one successful task result manages, as ``kind:name`` strings."""
    name = short(action)
    invoked = (result.get("invocation") or {}).get("module_args") or args
    # Modules that manage several files at once say which (checked_download does).
    if isinstance(result.get("managed_files"), list):
        return [f"file:{path}" for path in result["managed_files"]]
    if name in PACKAGES:
        # Version pins (name=1.2) name the package before the "=".
        return [f"{PACKAGES[name]}:{p.split('=')[0]}" for p in as_list(invoked.get("name"))]
    if name in NAMED and invoked.get("name"):
        return [f"{NAMED[name]}:{invoked['name']}"]
    if name in ("command", "shell"):
        return probe_of(name, result, invoked)
    if name in READ_ONLY:
        return []
    for key in PATH_KEYS:
        path = result.get(key) or invoked.get(key)
        if isinstance(path, str) and path.startswith("/"):
            return [f"file:{path}"]
    return []


def probe_of(name: str, result: dict[str, Any], args: dict[str, Any]) -> list[str]:
    """A command that changed nothing read the host's state: run it again to compare.
    Commands that changed something, or that depend on a file or input, are not probes."""
    if result.get("changed") or args.get("creates") or args.get("removes") or args.get("stdin"):
        return []
    command = args.get("argv") or args.get("_raw_params") or args.get("cmd")
    if not command:
        return []
    shell = name == "shell" or bool(args.get("_uses_shell"))
    if not shell and isinstance(command, str):
        command = shlex.split(command)
    spec = {"args": command, "shell": shell, "chdir": args.get("chdir")}
    return ["probe:" + json.dumps(spec, sort_keys=True)]


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "converge_state"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        folder = os.environ.get("KUBEPRIMER_CONVERGE_DIR")
        self._dir = Path(folder) if folder else None
        self._stage: str | None = None
        self._seen: dict[tuple[str, str], set[str]] = {}

    def v2_playbook_on_play_start(self, play: Any) -> None:
        stage = (play.vars or {}).get("kubeprimer_stage")
        self._stage = str(stage) if stage and self._dir else None

    def v2_runner_on_ok(self, result: Any) -> None:
        host = result._host.get_name()
        # A task delegated elsewhere manages another host than the one it is reported for.
        delegate = result._task_fields.get("delegate_to") or result._task.delegate_to
        if self._stage is None or delegate not in (None, "", host):
            return
        action = result._task.action
        args = result._task_fields.get("args") or {}
        found: list[str] = []
        for one in result._result.get("results") or [result._result]:
            if isinstance(one, dict) and not one.get("failed") and not one.get("skipped"):
                found += resources_of(action, one, args if one is result._result else {})
        if found:
            self._note(host, found)

    def _note(self, host: str, found: list[str]) -> None:
        assert self._dir is not None and self._stage is not None
        seen = self._seen.setdefault((host, self._stage), set())
        seen.update(found)
        folder = self._dir / host
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        (folder / f"{self._stage}.json").write_text(json.dumps(sorted(seen)))
