"""Running the external tools (etcdctl, etcdutl, restic) and the agent's one error type."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

# Exit status of the agent for a broken setting or argument (the same as the
# toolkit's UserError), and for a failed operation.
BAD_INPUT = 2
FAILED = 1


class AgentError(Exception):
    """One sentence saying what failed and what to do; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = False,
    what: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run a command with captured text output; secrets travel in ``env``, never argv."""
    merged = dict(os.environ)
    if env:
        merged.update(env)
    try:
        done = subprocess.run(
            list(argv),
            env=merged,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise AgentError(f"{argv[0]} is not installed; install it or set its path.") from None
    except subprocess.TimeoutExpired:
        raise AgentError(f"{what or argv[0]} did not finish within {timeout:.0f} s.") from None
    if check and done.returncode != 0:
        raise AgentError(f"{what or argv[0]} failed: {last_line(done.stderr or done.stdout)}")
    return done


def last_line(text: str) -> str:
    """The line of a tool's output that says what went wrong.

    That is restic's "Fatal:" line where there is one (restic may add a question after
    it), else the last line.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("Fatal:")]
    return (fatal or lines or ["no output"])[-1]
