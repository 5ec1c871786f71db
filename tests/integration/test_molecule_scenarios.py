"""Every role's Molecule scenario, on real lab nodes: one test id per role and release.

``molecule test`` runs syntax, create (boots the scenario's own lab of systemd-nspawn
nodes), prepare, converge, idempotence (a second converge must report changed=0),
verify and destroy, all over SSH. Lint is the suite's own ansible-lint step
(scripts/test), which covers the roles and their scenarios with profile production.
Scenarios run one after another: each boots and removes its own lab.

Releases (docs/development.md): the id ``<role>`` runs the scenario as its
molecule.yml says, where platforms of several nodes may name both Debian releases
(``os``) and so cover both in one run; ``<role>-<release>`` runs every node on that
release (KUBEPRIMER_MOLECULE_OS). CI adds the second release only for the roles in
SECOND_RELEASE; KUBEPRIMER_MOLECULE_MATRIX=full runs every role on each release.

Upgrades (docs/development.md, "Upgrade scenarios"): a role's ``molecule/upgrade``
scenario converges the previous release's role, then this checkout's, and checks the
data survived; its id is ``<role>-upgrade``. CI runs those of UPGRADE_IN_CI;
KUBEPRIMER_MOLECULE_MATRIX=full runs every role's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubeprimer.lab.config import RELEASES
from kubeprimer.lab.molecule import OS_ENV
from kubeprimer.paths import ROLES, ROOT
from tests.integration.conftest import lab_unavailable

pytestmark = pytest.mark.integration

SCENARIOS = sorted(p.parent.parent.parent for p in ROLES.glob("*/molecule/default/molecule.yml"))
UPGRADES = sorted(p.parent.parent.parent for p in ROLES.glob("*/molecule/upgrade/molecule.yml"))
TIMEOUT = 1200
MATRIX_ENV = "KUBEPRIMER_MOLECULE_MATRIX"
# Roles whose packages or configuration differ between the releases and whose scenario
# cannot mix them run again with every node on trixie: containerd (1.6 and 1.7, one
# node), glusterfs_server (10.3 and 11.1; a pool never mixes releases) and nfs_server
# (NFS-Ganesha 4 and 6, configured differently, one server; under a minute a run).
# Other multi-node scenarios mix releases in their molecule.yml, which costs no extra run.
SECOND_RELEASE = {"containerd": "trixie", "glusterfs_server": "trixie", "nfs_server": "trixie"}
# The upgrades users depend on most: the cluster's data (etcd), its secrets (vault), the
# running containers (containerd) and the Kubernetes binaries (kube_artifacts).
UPGRADE_IN_CI = frozenset({"etcd", "vault", "containerd", "kube_artifacts"})
DESTROY = [sys.executable, "-m", "kubeprimer.lab.molecule", "destroy"]


def _cases(full: bool) -> list[tuple[Path, str, str]]:
    """(role, scenario, release) in the order they run; release "" is molecule.yml's."""
    cases = [(role, "default", "") for role in SCENARIOS]
    for role in SCENARIOS:
        for release in RELEASES:
            if full or SECOND_RELEASE.get(role.name) == release:
                cases.append((role, "default", release))
    cases += [(role, "upgrade", "") for role in UPGRADES if full or role.name in UPGRADE_IN_CI]
    return cases


def _case_id(role: Path, scenario: str, release: str) -> str:
    return "-".join(part for part in (role.name, release, scenario) if part and part != "default")


CASES = _cases(os.environ.get(MATRIX_ENV) == "full")


@pytest.mark.parametrize(
    ("role", "scenario", "release"), CASES, ids=[_case_id(*case) for case in CASES]
)
def test_molecule_scenario(role: Path, scenario: str, release: str) -> None:
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
    env.pop(OS_ENV, None)
    if release:
        env[OS_ENV] = release
    name = _case_id(role, scenario, release)
    log = ROOT / ".runs" / "molecule" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [f"{venv_bin}/molecule", "test", "--scenario-name", scenario],
            cwd=role,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        # Molecule never reached its destroy step: keep what it printed, remove its lab.
        log.write_text(_text(expired.stdout) + _text(expired.stderr))
        subprocess.run(
            [*DESTROY, "--role", role.name, "--scenario", scenario],
            env=env,
            timeout=120,
            check=False,
        )
        pytest.fail(f"molecule test for {name} took longer than {TIMEOUT} s (log: {log})")
    log.write_text(done.stdout + done.stderr)
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-60:])
    assert done.returncode == 0, f"molecule test failed for {name} (full log: {log}):\n{tail}"


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""
