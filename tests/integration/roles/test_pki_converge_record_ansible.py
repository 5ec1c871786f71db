"""The controller's CA stage of cluster.up records both CAs for the converge records.

roles/pki runs as the `controller_ca` stage; the converge_state callback (enabled in the
project's ansible.cfg) collects what the stage's tasks managed, and a converged re-run
is skipped only while all of it still holds. etcd's own CA must be in that list beside
the toolkit CA, so deleting or replacing its key or certificate makes the stage run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.roles.localplay import run_role

pytestmark = pytest.mark.integration


def test_the_ca_stage_records_the_toolkit_and_the_etcd_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    collected = tmp_path / "converge"
    monkeypatch.setenv("KUBEPRIMER_CONVERGE_DIR", str(collected))
    pki = tmp_path / "pki"
    done = run_role(
        tmp_path, "pki", ["main"], {"pki_dir": str(pki), "kubeprimer_stage": "controller_ca"}
    )
    assert done.returncode == 0, done.stdout[-3000:]
    record = json.loads((collected / "localhost" / "controller_ca.json").read_text())
    for name in ("ca.key", "ca.crt", "etcd-ca.key", "etcd-ca.crt"):
        assert f"file:{pki / name}" in record, f"{name} is not recorded: {record}"
    assert f"file:{pki}" in record
