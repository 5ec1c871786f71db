"""What a changed task would change, shown as `kubectl diff` and `terraform plan` show it.

In check/diff mode Ansible puts the change in each result's ``diff``: the file's text
before and after (template, copy, lineinfile, …), a diff the module prepared itself
(apt), or a mapping of attributes (file: mode, state). Results of ``no_log`` tasks are
censored by Ansible before they reach us, and tasks with ``diff: false`` return none:
both are shown as "content hidden", never guessed. Passwords in URLs are masked
(``kubeprimer/redact.py``), as everywhere kubeprimer shows text.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from rich.console import Console
from rich.markup import escape

from kubeprimer import redact

HIDDEN = "content hidden"
# Modules that write a destination and give a diff in diff mode: a changed result
# without one had its diff turned off (``diff: false``), so its content stays hidden.
_WRITES = frozenset(
    {
        "assemble",
        "blockinfile",
        "copy",
        "file",
        "ini_file",
        "lineinfile",
        "replace",
        "sysctl",
        "template",
    }
)
# A huge generated file (a manifest bundle) is cut here; the run's log keeps it whole.
MAX_LINES = 400
_STYLE = {"+": "green", "-": "red", "@": "cyan"}
_TEMPORARY = re.compile(r"/\.ansible/tmp/|/ansible-local-|/ansible-tmp-")


def _text(value: Any) -> list[str]:
    """A side of a diff as lines: text as it is, a mapping as sorted ``key: value`` lines."""
    if isinstance(value, dict):
        return [f"{key}: {value[key]}" for key in sorted(value, key=str)]
    return str(value or "").splitlines()


def _header(given: Any, target: str, fallback: str) -> str:
    """Ansible's header, unless it names its own temporary copy of a template's source
    (``~/.ansible/tmp/…/sysctl.conf.j2``): then the file the task writes."""
    text = str(given or "")
    if text and not (target and _TEMPORARY.search(text)):
        return text
    return target or fallback


def _one(change: dict[str, Any], target: str) -> list[str]:
    if change.get("prepared"):
        return str(change["prepared"]).splitlines()
    for key in ("dst_binary", "src_binary"):
        if change.get(key):
            return ["(binary content: not shown)"]
    for key in ("dst_larger", "src_larger"):
        if change.get(key):
            return [f"(larger than {change[key]} bytes: not shown)"]
    before = _header(change.get("before_header"), target, "before")
    after = _header(change.get("after_header"), target, "after")
    return list(
        difflib.unified_diff(
            _text(change.get("before")),
            _text(change.get("after")),
            fromfile=before,
            tofile=after,
            lineterm="",
        )
    )


def _target(item: dict[str, Any]) -> str:
    """The file a result is about: its dest or path, or (check mode returns only the
    diff) the one the module was called with."""
    args = (item.get("invocation") or {}).get("module_args") or {}
    for source in (item, args):
        for key in ("dest", "path"):
            if source.get(key):
                return str(source[key])
    return ""


def _changed_items(res: dict[str, Any]) -> list[dict[str, Any]]:
    """A looped task's changed items, or the result itself."""
    items = res.get("results")
    if isinstance(items, list) and items:
        return [i for i in items if isinstance(i, dict) and i.get("changed")]
    return [res]


def lines(res: dict[str, Any], action: str) -> list[str]:
    """The unified diff of one changed result (each changed loop item), masked."""
    out: list[str] = []
    short = action.rsplit(".", 1)[-1]
    for item in _changed_items(res):
        if "censored" in item:
            out.append(f"({HIDDEN}: the task has no_log)")
            continue
        found = item.get("diff")
        changes = [c for c in (found if isinstance(found, list) else [found]) if c]
        if not changes:
            if short in _WRITES:
                out.append(f"({HIDDEN}: the task turns its diff off)")
            continue
        target = _target(item)
        for change in changes:
            out += _one(change, target) if isinstance(change, dict) else str(change).splitlines()
    if len(out) > MAX_LINES:
        out = [*out[:MAX_LINES], f"… {len(out) - MAX_LINES} more lines in the run's log"]
    return [redact.text(line) for line in out]


def show(console: Console, res: dict[str, Any], action: str, indent: str = "      ") -> None:
    """Print the diff under a host's "changed" line, coloured like `git diff`."""
    for line in lines(res, action):
        style = "dim" if line.startswith(("---", "+++")) else _STYLE.get(line[:1], "")
        text = indent + escape(line)
        console.print(f"[{style}]{text}[/]" if style else text, highlight=False, soft_wrap=True)
