"""versions: every pinned component version, with its release date and end of life.

``invoke versions`` (the namespace's default task, also ``versions.list``) reads the one
pins file, roles/kube_defaults/defaults/main/pins.yml. A listing: it exits 0 even when a
pin is past its end of life, which its status column says.
"""

from __future__ import annotations

import datetime
from typing import Any

from invoke import Collection

from kubeprimer.output import JSON_HELP, emit_json
from kubeprimer.paths import ROOT
from kubeprimer.tasks._task import task

COLUMNS = ("component", "version", "released", "end of life", "latest", "status")


def today() -> datetime.date:
    return datetime.date.today()


def listing_data(on: datetime.date) -> dict[str, Any]:
    """Every pin as of ``on`` (the shape of --json)."""
    from kubeprimer import pins

    return {
        "date": on.isoformat(),
        "pins_file": str(pins.PINS_FILE.relative_to(ROOT)),
        "pins": [
            {
                "component": pin.component,
                "line": pin.line or None,
                "version": pin.version,
                "released": pin.released.isoformat() if pin.released else None,
                "eol": pin.eol.isoformat() if pin.eol else None,
                "latest": pin.latest,
                "past_eol": pin.past_eol(on),
                "kept_past_eol": pin.kept_past_eol or None,
                "status": pin.status(on),
                "source": pin.source,
            }
            for pin in pins.listing()
        ],
    }


def show_listing(data: dict[str, Any]) -> None:
    from rich.text import Text

    from kubeprimer.output import Listing, console, show

    table = Listing(COLUMNS, title=f"Pinned versions on {data['date']} ({data['pins_file']})")
    for row in data["pins"]:
        style = (
            "bold red" if row["past_eol"] else ("green" if row["status"] == "current" else "yellow")
        )
        name = f"{row['component']} ({row['line']})" if row["line"] else row["component"]
        table.add(
            name,
            row["version"],
            row["released"] or "",
            row["eol"] or "",
            row["latest"],
            Text(row["status"], style=style),
        )
    show(console(), table)


@task(name="list", default=True, help={"json": JSON_HELP})
def list_(c: Any, json: bool = False) -> None:
    """Every pinned version, its release date and end of life; flags those past it."""
    data = listing_data(today())
    if json:
        emit_json(data)
    else:
        show_listing(data)


ns = Collection("versions", list_)
