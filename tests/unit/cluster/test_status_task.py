"""invoke cluster.status refuses bad input with exit 2 and one sentence, before any
host or API server is asked, as users run it (the invoke program)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.programs import run_program


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("--timeout", "0"), "--timeout is 0; give the seconds to wait, 1 or more."),
        (("-i", "no/such/hosts.yml"), "does not exist; pass an existing inventory with -i."),
    ],
)
def test_bad_input_exits_2_with_one_sentence(
    argv: tuple[str, ...], said: str, tmp_path: Path
) -> None:
    done = run_program(
        "invoke", "cluster.status", *argv, env={"INVOKE_KUBEPRIMER_RUNS_DIR": str(tmp_path)}
    )
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # no run was started
