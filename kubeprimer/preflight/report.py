"""The preflight table: hosts down, checks across, each failure with its fix."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from kubeprimer.output import Listing, show
from kubeprimer.preflight.checks import CHECKS, Outcome, Status

# The reason given for a host whose SSH host key was refused.
REFUSED = "host key refused"

_STYLE = {Status.PASS: "green", Status.NOTE: "yellow", Status.FAIL: "bold red"}


def table(outcomes: dict[str, dict[str, Outcome]], unreachable: dict[str, str]) -> Listing:
    """Hosts down, checks across; a host that did not answer has FAIL under ssh."""
    # Light borders keep 11 checks and the host name inside an 80-column terminal.
    listing = Listing(("host", "ssh", *CHECKS), title="Preflight", compact=True)
    for host in sorted(outcomes):
        row = outcomes[host]
        listing.add(
            host,
            Text("ok", style="green"),
            *(Text(row[c].status.value, style=_STYLE[row[c].status]) for c in CHECKS),
        )
    for host in sorted(unreachable):
        listing.add(host, Text("FAIL", style="bold red"), *("-" for _ in CHECKS))
    return listing


def render(
    console: Console,
    outcomes: dict[str, dict[str, Outcome]],
    unreachable: dict[str, str],
    refused: list[str] | None = None,
) -> None:
    """The table, then one line per problem with its fix; ``refused`` holds the
    sentences for hosts whose SSH host key was refused (they carry their own fix)."""
    show(console, table(outcomes, unreachable))
    for sentence in refused or []:
        console.print(f"[bold red]✗[/] {sentence}")
    for host in sorted(unreachable):
        if unreachable[host] == REFUSED:
            continue
        console.print(
            f"[bold red]✗[/] {host} ssh: {unreachable[host]}. Fix: check ansible_host, ansible_user and the SSH settings, then retry."
        )
    for host in sorted(outcomes):
        for check, outcome in outcomes[host].items():
            if outcome.status is Status.FAIL:
                console.print(
                    f"[bold red]✗[/] {host} {check}: {outcome.detail}. Fix: {outcome.fix}"
                )
            elif outcome.status is Status.NOTE:
                console.print(f"[yellow]•[/] {host} {check}: {outcome.detail}")


def _outcome(outcome: Outcome) -> dict[str, str]:
    return {"status": outcome.status.name.lower(), "detail": outcome.detail, "fix": outcome.fix}


def data(
    outcomes: dict[str, dict[str, Outcome]],
    unreachable: dict[str, str],
    refused: list[str] | None = None,
) -> dict[str, Any]:
    """The same report for scripts (the shape docs/cluster.md documents)."""
    hosts: list[dict[str, Any]] = [
        {
            "host": host,
            "ssh": "ok",
            "error": None,
            "checks": {c: _outcome(outcomes[host][c]) for c in CHECKS if c in outcomes[host]},
        }
        for host in sorted(outcomes)
    ]
    hosts += [
        {
            "host": host,
            "ssh": "refused" if unreachable[host] == REFUSED else "failed",
            "error": unreachable[host],
            "checks": {},
        }
        for host in sorted(unreachable)
    ]
    return {
        "passed": passed(outcomes, unreachable),
        "hosts": hosts,
        "refused": list(refused or []),
    }


def passed(outcomes: dict[str, dict[str, Outcome]], unreachable: dict[str, str]) -> bool:
    return not unreachable and all(
        o.status is not Status.FAIL for row in outcomes.values() for o in row.values()
    )
