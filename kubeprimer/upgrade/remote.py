"""Run one read-only command on some hosts at once, as the playbooks reach them.

The upgrade checks read what the hosts run (each etcd member's version and health,
``kubeadm upgrade plan`` on the first control plane) with one ``raw`` task through
``ansible``: the inventory, ansible.cfg, the known_hosts file and privilege escalation
are those of every run, and a host that does not answer is reported, not waited for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from kubeprimer.ansible import hostkeys
from kubeprimer.ansible.runner import environment, forget_environment, new_run_dir
from kubeprimer.inventory import Inventory
from kubeprimer.paths import ROOT

# Preflight's readers of a raw task's answer: the same output, read the same way.
from kubeprimer.preflight.remote import _facts, _last

_RESULTS = {"runner_on_ok", "runner_on_failed", "runner_on_unreachable"}


@dataclass(frozen=True)
class Answer:
    """One host's answer: the command's output when it ran, else why it did not."""

    ok: bool
    stdout: str
    problem: str = ""

    def json_line(self) -> dict[str, Any] | None:
        """The last line of output that is a JSON object (raw mixes stderr into stdout)."""
        return _facts({"stdout": self.stdout})


# (inventory, hosts, command, timeout) -> {host: Answer}; tests pass their own.
Runner = Callable[[Inventory, list[str], str, int], dict[str, Answer]]


def run(
    inv: Inventory, hosts: list[str], command: str, timeout: int = 10, runs_dir: Path | None = None
) -> dict[str, Answer]:
    """``command`` (a shell line, escalated) on each of ``hosts`` in parallel."""
    import ansible_runner  # heavy: keep `invoke --list` fast

    runs = runs_dir or ROOT / ".runs"
    results: dict[str, tuple[str, dict[str, Any]]] = {}

    def handle(event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        if event.get("event") in _RESULTS:
            results[str(data.get("host"))] = (str(event["event"]), data.get("res") or {})
        return True

    names = hostkeys.entry_names(inv.path)  # refuses an inventory that turns key checks off
    known = hostkeys.known_hosts(inv.path)
    before = hostkeys.entries(known)
    log_dir = new_run_dir(runs, "upgrade-probe")
    ansible_runner.run(
        private_data_dir=str(log_dir),
        inventory=str(inv.path.resolve()),
        host_pattern=":".join(hosts),
        module="ansible.builtin.raw",
        module_args=command,
        cmdline=f"--become --timeout {int(timeout)}",
        forks=max(1, len(hosts)),
        envvars=environment(inv.path, runs),
        fact_cache_type="",
        event_handler=handle,
        quiet=True,
    )
    forget_environment(log_dir)
    # A first contact records the host's key here, before the playbook's own check: say so.
    for line in hostkeys.recorded_lines(known, before, names):
        Console(stderr=True, highlight=False).print(line)
    answers: dict[str, Answer] = {}
    for host in hosts:
        kind, res = results.get(host, ("", {}))
        out = str(res.get("stdout") or "")
        if kind == "runner_on_ok":
            answers[host] = Answer(True, out)
        elif kind == "runner_on_unreachable":
            answers[host] = Answer(False, out, f"unreachable over SSH ({_last(res.get('msg'))})")
        elif kind:
            answers[host] = Answer(False, out, _last(f"{res.get('msg') or ''}\n{out}"))
        else:
            answers[host] = Answer(False, "", "no answer")
    return answers
