"""Live progress and the recap, drawn from Ansible's structured events.

ansible-runner hands every callback event to ``handle`` as a dict; nothing here
parses Ansible's human-readable output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text

from kubeprimer import redact
from kubeprimer.ansible import diff
from kubeprimer.output import Listing

_RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}
_COUNTS = ("ok", "changed", "failed", "unreachable", "skipped")
_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "failed": "bold red",
    "unreachable": "bold magenta",
    "skipped": "dim",
}


@dataclass
class Progress:
    """Prints one line per task and one per host result that matters."""

    console: Console
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    # Tasks whose outcome check mode cannot show (commands, waits on real state).
    unpredictable: list[str] = field(default_factory=list)
    # In diff mode (cluster.plan), each change is shown under its host.
    show_diff: bool = False
    _task: str = ""

    def handle(self, event: dict[str, Any]) -> bool:
        # Masked in place: ansible-runner writes this same dict to the run's folder.
        redact.data(event)
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self.console.print(f"[bold]PLAY[/] {data.get('play', '')}")
        elif kind == "playbook_on_task_start":
            self._task = _task_name(data)
            self.console.print(f"  [cyan]▸[/] {self._task}")
        elif kind in _RESULT_EVENTS:
            self._result(_RESULT_EVENTS[kind], data)
        elif kind == "playbook_on_stats":
            self.stats = _stats(data)
        # ansible-runner keeps the event on disk too, which is the run's full log.
        return True

    def _result(self, status: str, data: dict[str, Any]) -> None:
        host = str(data.get("host", "?"))
        res = data.get("res") or {}
        if status == "ok" and res.get("changed"):
            status = "changed"
        if status in ("failed", "unreachable") and data.get("ignore_errors"):
            status = "ok"
        msg = _message(res)
        if _unpredictable(status, res, msg) and self._task not in self.unpredictable:
            self.unpredictable.append(self._task)
        if status == "ok":
            self._drift(host, res)
        if status in ("ok", "skipped"):
            return
        self.console.print(f"    [{_STYLE[status]}]{status:<11}[/] {host}")
        if status == "changed" and self.show_diff:
            diff.show(self.console, res, str(data.get("task_action", "")))
        if status in ("failed", "unreachable"):
            self.failures.append((host, self._task, msg))
            self.console.print(f"      [red]{msg}[/]", markup=True, highlight=False)

    def _drift(self, host: str, res: dict[str, Any]) -> None:
        """converge_state's probe: say which recorded stages run again, and why."""
        drifted = res.get("drifted")
        if not isinstance(drifted, dict):
            return
        for stage, why in sorted(drifted.items()):
            self.console.print(f"    [yellow]runs again[/] {host}: {stage}: {why}")

    def recap(self) -> Listing:
        listing = Listing(columns=("host", *_COUNTS), title="Recap", right=_COUNTS)
        for host, counts in sorted(self.stats.items()):
            cells = [str(counts.get(c, 0)) for c in _COUNTS]
            listing.add(
                host,
                *(
                    Text(v, style=_STYLE[c]) if v != "0" and c != "ok" else v
                    for c, v in zip(_COUNTS, cells, strict=True)
                ),
            )
        return listing


def _unpredictable(status: str, res: dict[str, Any], msg: str) -> bool:
    """A skip that is not a false ``when:`` means check mode could not run the task."""
    if "check mode" in msg.lower():
        return True
    return (
        status == "skipped"
        and "false_condition" not in res
        and "Conditional" not in str(res.get("skip_reason", ""))
    )


def _task_name(data: dict[str, Any]) -> str:
    name = str(data.get("task") or data.get("name") or "")
    # The playbooks name roles kubeprimer.cluster.<role>; the short name is what users know.
    role = str(data.get("role") or "").rsplit(".", 1)[-1]
    return f"{role} : {name}" if role and not name.startswith(f"{role} :") else name


def _message(res: dict[str, Any]) -> str:
    """The shortest text that says why a task failed; no_log results are already censored."""
    for key in ("msg", "stderr", "reason", "module_stderr", "stdout"):
        text = res.get(key)
        if text:
            return (
                str(text).strip().splitlines()[-1][:400]
                if key != "msg"
                else str(text).strip()[:800]
            )
    return ""


def _stats(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    names = {
        "ok": "ok",
        "changed": "changed",
        "failures": "failed",
        "dark": "unreachable",
        "skipped": "skipped",
    }
    stats: dict[str, dict[str, int]] = {}
    for key, col in names.items():
        for host, count in (data.get(key) or {}).items():
            stats.setdefault(host, {})[col] = int(count)
    return stats
