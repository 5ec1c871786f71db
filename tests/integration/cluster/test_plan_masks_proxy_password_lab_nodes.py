"""invoke cluster.plan on real lab nodes with a proxy URL that carries a password,
and a kernel parameter file edited by hand on one node.

Check/diff mode renders the apt proxy file and the proxy environment, so their diffs
hold the URL: the run's whole folder (event log, stdout, records) and the output keep
it only masked. The edited file is shown as a unified diff under its host, as
`kubectl diff` shows a change. Check mode changes nothing on the session's lab nodes;
the edited file is put back afterwards.
"""

from __future__ import annotations

import os
import shlex
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
SYSCTL = "/etc/sysctl.d/90-kubeprimer.conf"
EDITED = "net.ipv4.ip_forward = 0  # edited by hand"


def test_cluster_plan_keeps_no_proxy_password(lab: Any, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(lab.inventory.parent, inventory)
    settings_file = inventory / "group_vars" / "all.yml"
    settings = yaml.safe_load(settings_file.read_text())
    for key in ("proxy_http", "proxy_https"):
        settings[key] = settings[key].replace("http://", f"http://build:{SECRET}@", 1)
    settings_file.write_text(yaml.safe_dump(settings))
    runs = tmp_path / "runs"
    node = lab.nodes[-1]
    before = lab.ssh(node, f"cat {SYSCTL} 2>/dev/null || true").stdout
    lab.ssh(node, f"mkdir -p /etc/sysctl.d && echo '{EDITED}' > {SYSCTL}")
    try:
        done = plan(inventory, runs)
    finally:
        restore = f"printf %s {shlex.quote(before)} > {SYSCTL}" if before else f"rm -f {SYSCTL}"
        lab.ssh(node, restore)
    # The plan stops at the artifact downloads (no internet here); the proxy files come before.
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr
    assert SECRET not in done.stdout + done.stderr
    kept = [p for p in runs.rglob("*") if p.is_file()]
    assert [str(p) for p in kept if SECRET.encode() in p.read_bytes()] == []
    # The URL did reach the log and the diffs, masked: the test saw what it looks for.
    assert any(b"build:***@" in p.read_bytes() for p in kept)
    assert "build:***@" in done.stdout
    # The hand edit is a unified diff of that file under that host.
    assert "Write the kernel parameters" in done.stdout, done.stdout[-3000:]
    shown = done.stdout.split("Write the kernel parameters", 1)[1].split("▸", 1)[0]
    assert f"changed     {node}" in shown, shown
    host_part = shown.split(f"changed     {node}", 1)[1].split("changed ", 1)[0]
    diff = [line.strip() for line in host_part.splitlines()]
    assert f"--- {SYSCTL}" in diff and f"+++ {SYSCTL}" in diff, shown
    assert f"-{EDITED}" in diff and "+net.ipv4.ip_forward = 1" in diff, shown


def plan(inventory: Path, runs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("invoke")), "cluster.plan", "-i", str(inventory)],
        cwd=ROOT,
        env={**os.environ, "INVOKE_KUBEPRIMER_RUNS_DIR": str(runs), "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
