"""cluster.check --json against real lab hosts: the report alone on stdout, the same
exit status as the table, and the table as plain columns when piped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubeprimer.paths import ROOT
from kubeprimer.preflight.checks import CHECKS

pytestmark = pytest.mark.integration


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("invoke")), "cluster.check", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "80"},
        timeout=300,
        check=False,
    )


def test_json_report_and_plain_table_on_lab_nodes(lab: Any) -> None:
    done = check("-i", str(lab.inventory), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["passed"] is True and data["refused"] == []
    assert [h["host"] for h in data["hosts"]] == sorted(lab.nodes)
    for host in data["hosts"]:
        assert host["ssh"] == "ok" and host["error"] is None
        assert set(host["checks"]) == set(CHECKS)
        assert {c["status"] for c in host["checks"].values()} <= {"pass", "note"}
    assert "no problems found" in done.stderr

    piped = check("-i", str(lab.inventory))
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("HOST "))
    assert lines[header].split() == ["HOST", "SSH", *(c.upper() for c in CHECKS)]
    rows = [line.split() for line in lines[header + 1 : header + 1 + len(lab.nodes)]]
    assert [row[0] for row in rows] == sorted(lab.nodes)
    assert all(len(row) == 2 + len(CHECKS) for row in rows)
    assert not set("─│┃━┏┓┗┛┡┩") & set(piped.stdout)
