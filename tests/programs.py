"""Run this virtualenv's programs (invoke, kubeprimer, ansible-playbook) as users run
them, from the repository root, output captured for the test to read; ansible-playbook
with the project's ansible.cfg and roles."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from kubeprimer.paths import ANSIBLE_CFG, ROLES, ROOT

BINDIR = Path(sys.executable).parent
ANSIBLE_PLAYBOOK = str(BINDIR / "ansible-playbook")


def playbook_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the project's Ansible settings, and this
    virtualenv first on PATH so Ansible's own helpers come from the same install."""
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
        "ANSIBLE_ROLES_PATH": str(ROLES),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{BINDIR}:{os.environ.get('PATH', '')}",
        **(extra or {}),
    }


def run_playbook(
    args: Sequence[str], env: Mapping[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """``ansible-playbook *args`` with ``env`` added to playbook_env(); never raises on
    a failed play: the caller asserts on the return code and output."""
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, *args],
        cwd=ROOT,
        env=playbook_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_program(
    name: str, *argv: str, env: Mapping[str, str] | None = None, timeout: int = 60
) -> subprocess.CompletedProcess[str]:
    """This virtualenv's program ``name`` with ``env`` added to this process's environment
    and nothing on stdin, so a prompt fails instead of waiting; never raises on exit codes."""
    return subprocess.run(
        [str(BINDIR / name), *argv],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
