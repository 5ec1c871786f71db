"""invoke cluster.plan on real lab nodes with a proxy URL that carries a password.

Check/diff mode renders the apt proxy file and the proxy environment, so their diffs
hold the URL: the run's whole folder (event log, stdout, records) and the output keep
it only masked. Check mode changes nothing on the session's lab nodes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.paths import ROOT

pytestmark = pytest.mark.integration

SECRET = "Pr0xyS3cret"


def test_cluster_plan_keeps_no_proxy_password(lab: Any, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(lab.inventory.parent, inventory)
    settings_file = inventory / "group_vars" / "all.yml"
    settings = yaml.safe_load(settings_file.read_text())
    for key in ("proxy_http", "proxy_https"):
        settings[key] = settings[key].replace("http://", f"http://build:{SECRET}@", 1)
    settings_file.write_text(yaml.safe_dump(settings))
    runs = tmp_path / "runs"

    done = subprocess.run(
        [str(Path(sys.executable).with_name("invoke")), "cluster.plan", "-i", str(inventory)],
        cwd=ROOT,
        env={**os.environ, "INVOKE_KUBEPRIMER_RUNS_DIR": str(runs), "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
    # The plan stops at the artifact downloads (no internet here); the proxy files come before.
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr
    assert SECRET not in done.stdout + done.stderr
    kept = [p for p in runs.rglob("*") if p.is_file()]
    assert [str(p) for p in kept if SECRET.encode() in p.read_bytes()] == []
    # The URL did reach the log, masked: the test saw what it looks for.
    assert any(b"build:***@" in p.read_bytes() for p in kept)
