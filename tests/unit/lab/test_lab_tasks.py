"""lab.* tasks refuse bad input with exit status 2 and one line, before touching the host."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubeprimer.paths import ROOT


def invoke(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "INVOKE_KUBEPRIMER_LAB_STATE_DIR": str(tmp_path / "state"),
        "INVOKE_KUBEPRIMER_LAB_CACHE_DIR": str(tmp_path / "cache"),
    }
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lab.up", "--nodes", "13"], "--nodes 13 is out of range"),
        (["lab.up", "--nodes", "0"], "--nodes 0 is out of range"),
        (["lab.up", "--name", "No_Good"], "is not valid"),
        (["lab.up", "--user", "Deploy!"], "User name 'Deploy!' is not valid"),
        (["lab.up", "--user", "-rf"], "User name '-rf' is not valid"),
        (["lab.up", "--nodes", "abc"], "--nodes takes a whole number, not 'abc'"),
        (["lab.up", "--os", "sid"], "--os names 'sid', not a release lab nodes run"),
        (["lab.up", "--os", "bookworm,trixie", "--nodes", "1"], "--os gives 2 releases for 1"),
        (["lab.status", "--name", "ghost"], "Lab ghost is not up"),
        (["lab.ssh", "ghost-1"], "Lab ghost is not up"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = invoke(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "state").exists() and not (tmp_path / "cache").exists()
