"""Run a playbook the same way every time: the project's ansible.cfg, forks sized
to the inventory, live progress, a recap table and a kept log folder per run."""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from kubeprimer import redact
from kubeprimer.ansible import hostkeys
from kubeprimer.ansible.progress import Progress
from kubeprimer.errors import UserError
from kubeprimer.output import show
from kubeprimer.paths import ANSIBLE_CFG, PLAYBOOKS, ROOT

# What a run's outcome means to the caller; 2 stays reserved for bad input.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNREACHABLE = 3


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    log_dir: Path
    stats: dict[str, dict[str, int]]
    unpredictable: list[str]

    @property
    def changed(self) -> int:
        return sum(h.get("changed", 0) for h in self.stats.values())


def run_playbook(
    playbook: str,
    inventory: Path,
    *,
    hosts: int = 1,
    extravars: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    limit: str | None = None,
    check: bool = False,
    diff: bool = False,
    runs_dir: Path = ROOT / ".runs",
    forks_max: int = 50,
    console: Console | None = None,
) -> RunResult:
    """Run ``playbooks/<playbook>`` against ``inventory`` and report as it goes."""
    import ansible_runner  # heavy: keep `invoke --list` fast

    path = PLAYBOOKS / playbook
    if not path.is_file():
        raise UserError(f"There is no playbook {playbook} in {PLAYBOOKS}; check the name.")
    names = hostkeys.entry_names(inventory)
    console = console or Console(highlight=False)
    log_dir = new_run_dir(runs_dir, path.stem)
    progress = Progress(console, show_diff=diff)
    known = hostkeys.known_hosts(inventory)
    refusals = hostkeys.Refusals(known, names)
    before = hostkeys.entries(known)
    flags = [flag for flag, on in (("--check", check), ("--diff", diff)) if on]
    gate = hostkeys.gate_playbook(inventory, runs_dir, log_dir, path)

    def handle(event: dict[str, Any]) -> bool:
        refusals.note(event)
        keep = progress.handle(event)
        # When the host key check passes, its recap is not this run's: the playbook's own,
        # which counts every host from the start, follows it.
        return keep and not _passed_gate(event, gate)

    result = ansible_runner.run(
        private_data_dir=str(log_dir),
        # ansible-runner names one playbook; ansible-playbook runs several in order and
        # stops at the first that fails, so the host key check goes first.
        binary="ansible-playbook",
        cmdline=shlex.join([str(gate), str(path), *flags]),
        # Absolute: ansible-playbook starts in the run's folder.
        inventory=str(inventory.resolve()),
        extravars=extravars or {},
        tags=",".join(tags) if tags else None,
        limit=limit,
        # One more than the inventory's hosts: plays that address the controller
        # (localhost) beside every node would otherwise run on it in a second round.
        forks=max(1, min(hosts + 1, forks_max)),
        envvars=environment(inventory, runs_dir),
        # ansible-runner would otherwise point the fact cache into this run's folder,
        # where the next run never finds it; ansible.cfg's cache is the shared one.
        fact_cache_type="",
        event_handler=handle,
        quiet=True,
    )
    forget_environment(log_dir)
    redact.folder(log_dir)
    keep_private(runs_dir)
    for line in hostkeys.recorded_lines(known, before, names):
        console.print(line)
    if progress.stats:
        show(console, progress.recap())
    else:
        console.print(f"[red]ansible-playbook did not run:[/] {_last_line(result.stdout)}")
    for refusal in refusals.sentences():
        console.print(f"[bold red]✗[/] {refusal}", highlight=False)
    code = _exit_code(progress.stats, result.rc)
    console.print(f"Log of this run: {log_dir}")
    return RunResult(code, log_dir, progress.stats, progress.unpredictable)


def environment(inventory: Path, runs_dir: Path) -> dict[str, str]:
    """The environment of every Ansible process kubeprimer starts on ``inventory``."""
    return {
        **hostkeys.environment(inventory, runs_dir),
        "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(runs_dir / "facts"),
        "ANSIBLE_FORCE_COLOR": "0",
        "PYTHONUNBUFFERED": "1",
        # ansible-playbook lives beside the interpreter of the virtual environment.
        "PATH": os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", ""))),
    }


def forget_environment(log_dir: Path) -> None:
    """ansible-runner records the whole process environment beside the command;
    tokens a user exported must not end up in the run log."""
    for record in log_dir.glob("artifacts/*/command"):
        data = json.loads(record.read_text())
        data.pop("env", None)
        record.write_text(json.dumps(data))


def _last_line(stream: Any) -> str:
    lines = [line.strip() for line in stream.read().splitlines() if line.strip()] if stream else []
    return redact.text(lines[-1]) if lines else "no output"


def keep_private(runs_dir: Path) -> None:
    """Runs hold rendered variables, host output and cached facts (the nodes'
    environment among them): owner-only, however the folder came to be.

    mkdir's mode holds only for a folder it makes, and Ansible's jsonfile cache
    chmods every fact file to 0644 whatever the umask, so modes are set on every run."""
    runs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    runs_dir.chmod(0o700)
    facts = runs_dir / "facts"
    if facts.is_dir():
        facts.chmod(0o700)
        for cached in facts.iterdir():
            if cached.is_file() and not cached.is_symlink():
                cached.chmod(0o600)


def new_run_dir(runs_dir: Path, name: str) -> Path:
    keep_private(runs_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    log_dir = runs_dir / f"{stamp}-{name}"
    log_dir.mkdir(mode=0o700)
    return log_dir


def _passed_gate(event: dict[str, Any], gate: Path) -> bool:
    data = event.get("event_data") or {}
    return (
        event.get("event") == "playbook_on_stats"
        and data.get("playbook") == str(gate)
        and not data.get("dark")
        and not data.get("failures")
    )


def _exit_code(stats: dict[str, dict[str, int]], runner_rc: int) -> int:
    if any(h.get("unreachable") for h in stats.values()):
        return EXIT_UNREACHABLE
    if any(h.get("failed") for h in stats.values()) or runner_rc != 0:
        return EXIT_FAILED
    return EXIT_OK
