"""What listing and reporting tasks print: a table for people, plain columns for pipes,
JSON for scripts (the convention of kubectl ``-o json``, restic ``--json`` and the Vault CLI).

- On a terminal, a rich table with borders and colours.
- When stdout is not a terminal, the same table without box drawing: a header line and
  one line per row, columns separated by at least two spaces, an empty cell shown as
  ``-``, so ``grep`` and ``awk -F '  +'`` work.
- With ``--json``, the task's data alone on stdout; progress and notes go to stderr, and
  the task keeps its exit status.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

# A cell is literal text, or rich Text when it carries a colour for the terminal.
Cell = str | Text


@dataclass
class Listing:
    """A table's data, rendered for a terminal or a pipe by ``show``."""

    columns: Sequence[str]
    title: str = ""
    # Columns of numbers and sizes, aligned right.
    right: Sequence[str] = ()
    rows: list[Sequence[Cell]] = field(default_factory=list)
    # Compact borders, for wide tables such as the preflight's (host x 12 checks).
    compact: bool = False

    def add(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(cells)


def console(as_json: bool = False) -> Console:
    """Where a task's words go: stdout, or stderr when stdout carries its JSON.

    Lines are not wrapped when the stream is not a terminal: a pipe has no width."""
    out = Console(highlight=False, stderr=as_json)
    out.soft_wrap = not out.is_terminal
    return out


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text(cell)


def rich_table(listing: Listing) -> Table:
    table = Table(
        title=listing.title or None,
        title_justify="left",
        box=box.SIMPLE_HEAD if listing.compact else box.HEAVY_HEAD,
        pad_edge=not listing.compact,
    )
    for column in listing.columns:
        table.add_column(column, justify="right" if column in listing.right else "left")
    for row in listing.rows:
        table.add_row(*(_text(cell) for cell in row))
    return table


def plain_lines(listing: Listing) -> list[str]:
    """The table as aligned text: the title (if any), a header, one line per row."""
    cells = [
        [column.upper() for column in listing.columns],
        *(
            [_text(cell).plain.replace("\n", " ").strip() or "-" for cell in row]
            for row in listing.rows
        ),
    ]
    widths = [max(cell_len(row[i]) for row in cells) for i in range(len(listing.columns))]
    lines = [listing.title] if listing.title else []
    for row in cells:
        parts = [
            value.rjust(width) if column in listing.right else value.ljust(width)
            for column, value, width in zip(listing.columns, row, widths, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return lines


def show(out: Console, listing: Listing) -> None:
    """A rich table on a terminal; plain aligned columns otherwise."""
    if out.is_terminal:
        out.print(rich_table(listing))
        return
    for line in plain_lines(listing):
        # Straight to the stream: the console would wrap a long row at its width.
        out.file.write(line + "\n")
    out.file.flush()


def emit_json(data: Any) -> None:
    """The task's data for scripts, alone on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


JSON_HELP = "print the data as JSON on stdout, for scripts (messages go to stderr)"
