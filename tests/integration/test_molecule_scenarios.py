"""Every role's Molecule scenario, on real lab nodes: one test id per role.

``molecule test`` runs syntax, create (boots the scenario's own lab of systemd-nspawn
nodes), prepare, converge, idempotence (a second converge must report changed=0),
verify and destroy, all over SSH. Lint is the suite's own ansible-lint step
(scripts/test), which covers the roles and their scenarios with profile production.
Scenarios run one after another: each boots and removes its own lab.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubeprimer.paths import ROLES, ROOT
from tests.integration.conftest import lab_unavailable

pytestmark = pytest.mark.integration

SCENARIOS = sorted(p.parent.parent.parent for p in ROLES.glob("*/molecule/default/molecule.yml"))
TIMEOUT = 1200


@pytest.mark.parametrize("role", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_molecule_scenario(role: Path) -> None:
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        # molecule calls ansible-playbook and ansible-config from the same environment.
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
    }
    env.pop("ANSIBLE_CONFIG", None)  # molecule writes its own ansible.cfg per scenario
    try:
        done = subprocess.run(
            [f"{venv_bin}/molecule", "test"],
            cwd=role,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"molecule test for {role.name} took longer than {TIMEOUT} s: {expired}")
    log = ROOT / ".runs" / "molecule" / f"{role.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(done.stdout + done.stderr)
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-60:])
    assert done.returncode == 0, f"molecule test failed for {role.name} (full log: {log}):\n{tail}"
