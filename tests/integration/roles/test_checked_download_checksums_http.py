"""plugins/modules/checked_download, run by ansible-playbook on this machine against a
real HTTP server (tests/doubles/artifact_mirror.py serving a folder): the checksum forms
the etcd, vault and etcd_backup roles give it, as get_url takes them. A pinned sha256 and
a checksum list that names the file both install it, a second run changes nothing, and a
file that does not match is never put in place."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.doubles import artifact_mirror
from tests.integration.roles.localplay import changed, run_plays

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="installs files owned by root"),
]

DATA = b"etcd release stand-in\n"


def _fetch(tmp_path: Path, checksum: str, url: str) -> subprocess.CompletedProcess[str]:
    task = {
        "name": "Download",
        "checked_download": {
            "files": {
                "etcd": {
                    "url": f"{url}/etcd.tar.gz",
                    "dest": str(tmp_path / "out" / "etcd.tar.gz"),
                    "mode": "0644",
                    "checksum": checksum,
                }
            },
            "directories": [str(tmp_path / "out")],
        },
        "register": "fetched",
    }
    stop = {
        "name": "Stop on a failure",
        "ansible.builtin.fail": {"msg": "{{ fetched.failures | to_json }}"},
        "when": "fetched.failures | length > 0",
    }
    play = {"name": "fetch", "hosts": "localhost", "gather_facts": False, "tasks": [task, stop]}
    return run_plays(tmp_path, [play], {}, {})


@pytest.fixture
def served(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "etcd.tar.gz").write_bytes(DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    (root / "SHA256SUMS").write_text(f"{'0' * 64}  other.tar.gz\n{digest}  etcd.tar.gz\n")
    return root, digest


@pytest.mark.parametrize("form", ["pinned", "list"])
def test_installs_once_and_a_second_run_changes_nothing(
    tmp_path: Path, served: tuple[Path, str], form: str
) -> None:
    root, digest = served
    with artifact_mirror.serve(root) as url:
        checksum = f"sha256:{digest}" if form == "pinned" else f"sha256:{url}/SHA256SUMS"
        first = _fetch(tmp_path, checksum, url)
        assert first.returncode == 0, first.stdout
        assert changed(first) == 1
        second = _fetch(tmp_path, checksum, url)
    assert second.returncode == 0, second.stdout
    assert changed(second) == 0
    placed = tmp_path / "out" / "etcd.tar.gz"
    assert placed.read_bytes() == DATA
    assert placed.stat().st_mode & 0o7777 == 0o644


def test_a_pinned_checksum_that_does_not_match_puts_nothing_in_place(
    tmp_path: Path, served: tuple[Path, str]
) -> None:
    root, _ = served
    with artifact_mirror.serve(root) as url:
        result = _fetch(tmp_path, f"sha256:{'a' * 64}", url)
    assert result.returncode != 0
    assert '"corrupt": true' in result.stdout and "checksum mismatch" in result.stdout
    assert not (tmp_path / "out" / "etcd.tar.gz").exists()
