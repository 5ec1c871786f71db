"""The preflight table: hosts down, checks across, each failure with its fix."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from kubeprimer.preflight.checks import CHECKS, Outcome, Status

# The reason given for a host whose SSH host key was refused.
REFUSED = "host key refused"

_STYLE = {Status.PASS: "green", Status.NOTE: "yellow", Status.FAIL: "bold red"}


def render(
    console: Console,
    outcomes: dict[str, dict[str, Outcome]],
    unreachable: dict[str, str],
    refused: list[str] | None = None,
) -> None:
    """The table, then one line per problem with its fix; ``refused`` holds the
    sentences for hosts whose SSH host key was refused (they carry their own fix)."""
    # Light borders keep 11 checks and the host name inside an 80-column terminal.
    table = Table(title="Preflight", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("host")
    table.add_column("ssh")
    for name in CHECKS:
        table.add_column(name)
    for host in sorted(outcomes):
        row = outcomes[host]
        table.add_row(
            host,
            "[green]ok[/]",
            *(f"[{_STYLE[row[c].status]}]{row[c].status.value}[/]" for c in CHECKS),
        )
    for host in sorted(unreachable):
        table.add_row(host, "[bold red]FAIL[/]", *("-" for _ in CHECKS))
    console.print(table)

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


def passed(outcomes: dict[str, dict[str, Outcome]], unreachable: dict[str, str]) -> bool:
    return not unreachable and all(
        o.status is not Status.FAIL for row in outcomes.values() for o in row.values()
    )
