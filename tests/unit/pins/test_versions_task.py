"""`invoke versions`: every pin as a table on a terminal, plain columns in a pipe and
JSON with --json; a pin past its end of life is flagged and the listing still exits 0."""

from __future__ import annotations

import datetime
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from kubeprimer import output, pins
from kubeprimer.paths import ROOT
from kubeprimer.tasks import versions

NAMES = [p.name for p in pins.listing()]


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    binary = str(Path(sys.executable).with_name("invoke"))
    return subprocess.run(
        [binary, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_in_a_pipe_the_table_is_plain_columns_with_every_pin() -> None:
    done = invoke("versions")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("COMPONENT"))
    assert header.split() == [
        "COMPONENT",
        "VERSION",
        "RELEASED",
        "END",
        "OF",
        "LIFE",
        "LATEST",
        "STATUS",
    ]
    assert not any(ch in done.stdout for ch in "━┃│┏")
    rows = {line.split("  ")[0].strip() for line in lines[lines.index(header) + 1 :]}
    assert rows == set(NAMES)


def test_json_gives_every_pin_with_its_dates_and_source() -> None:
    done = invoke("versions", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["pins_file"] == "roles/kube_defaults/defaults/main/pins.yml"
    by_name = {(p["component"], p["line"]): p for p in data["pins"]}
    assert len(by_name) == len(NAMES)
    kube = by_name[("kubernetes", None)]
    assert kube["version"] == pins.cluster_defaults()["kube_version"]
    assert kube["eol"] and kube["source"].startswith("https://")
    # Only what is offered on request may be past its end of life, and it says why.
    past = {p["component"] for p in data["pins"] if p["past_eol"]}
    assert past == {p["component"] for p in data["pins"] if p["kept_past_eol"]}
    assert past <= {"weave", "ingress_nginx"}


def test_on_a_terminal_it_is_a_rich_table(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(
        output,
        "console",
        lambda as_json=False: Console(file=screen, force_terminal=True, width=220),
    )
    versions.show_listing(versions.listing_data(datetime.date(2026, 11, 30)))
    text = screen.getvalue()
    assert "┃" in text or "━" in text
    assert "kubernetes (1.35)" in text


def test_a_pin_past_its_end_of_life_is_flagged_and_the_listing_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kube_135_eol = pins.load()["kubernetes"]["minors"]["1.35"]["eol"]
    after = datetime.date.fromisoformat(kube_135_eol) + datetime.timedelta(days=1)
    monkeypatch.setattr(versions, "today", lambda: after)
    versions.list_.body(None, json=True)  # returns: a listing ends with status 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    flagged = [p for p in data["pins"] if p["past_eol"]]
    assert ("kubernetes", "1.35") in {(p["component"], p["line"]) for p in flagged}
    assert all(p["status"].startswith("PAST END OF LIFE") for p in flagged)
