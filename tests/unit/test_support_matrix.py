"""One support matrix: the README, the roles' platforms, preflight, the lab and the tests
all name the Debian releases the pins file pins packages for, and nothing more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kubeprimer import pins, platforms
from kubeprimer.inventory import Host
from kubeprimer.lab.config import RELEASES
from kubeprimer.paths import ROLES, ROOT
from kubeprimer.preflight.checks import Status, check_os
from kubeprimer.settings import DEFAULTS

SUPPORTED = platforms.debian_releases()
META = sorted(ROLES.glob("*/meta/main.yml"))


def test_the_supported_releases_are_those_containerd_is_pinned_for() -> None:
    assert set(SUPPORTED) == set(pins.load()["containerd"]["distro"])
    assert SUPPORTED == ("bookworm", "trixie")
    assert platforms.describe() == "Debian 12 (bookworm) or 13 (trixie)"


def test_every_per_release_pin_covers_exactly_the_supported_releases() -> None:
    distro = {
        c: e["distro"] for c, e in pins.load().items() if isinstance(e, dict) and "distro" in e
    }
    assert "containerd" in distro
    for component, per_release in distro.items():
        assert set(per_release) == set(SUPPORTED), component


@pytest.mark.parametrize("meta", META, ids=[m.parent.parent.name for m in META])
def test_every_role_claims_exactly_the_supported_releases(meta: Path) -> None:
    info = yaml.safe_load(meta.read_text())["galaxy_info"]
    assert info["platforms"] == [{"name": "Debian", "versions": list(SUPPORTED)}]


def test_the_readme_claims_the_same_hosts_and_says_why_ubuntu_is_not() -> None:
    rows = [r for r in (ROOT / "README.md").read_text().splitlines() if r.startswith("| hosts |")]
    assert len(rows) == 1
    assert rows[0].startswith(f"| hosts | {platforms.describe()}, each tested on lab nodes;")
    assert "Ubuntu is untested (its archive cannot be reached from the test machines)" in rows[0]
    assert "preflight refuses it" in rows[0]
    assert not re.search(r"Ubuntu \d", rows[0])


def _os_check(release: dict[str, str]) -> tuple[Status, str]:
    outcome = check_os(Host("h1", {}, frozenset()), {"os": release}, {}, None)  # type: ignore[arg-type]
    return outcome.status, outcome.fix


@pytest.mark.parametrize("codename", SUPPORTED)
def test_preflight_accepts_each_supported_release(codename: str) -> None:
    version = platforms.DEBIAN_VERSIONS[codename]
    release = {"ID": "debian", "VERSION_ID": version, "PRETTY_NAME": f"Debian {version}"}
    assert _os_check(release)[0] is Status.PASS


@pytest.mark.parametrize(
    ("os_id", "version", "fix"),
    [
        ("ubuntu", "24.04", "Ubuntu is untested (its archive cannot be reached"),
        ("ubuntu", "22.04", "Ubuntu is untested"),
        ("debian", "11", "Install Debian 12 (bookworm) or 13 (trixie) on this host."),
        ("debian", "", "Install Debian 12 (bookworm) or 13 (trixie) on this host."),
        ("centos", "7", "Install Debian 12 (bookworm) or 13 (trixie) on this host."),
    ],
)
def test_preflight_refuses_every_other_system(os_id: str, version: str, fix: str) -> None:
    status, said = _os_check({"ID": os_id, "VERSION_ID": version, "PRETTY_NAME": "x"})
    assert status is Status.FAIL and fix in said


def test_the_lab_boots_each_supported_release_and_defaults_to_one() -> None:
    assert RELEASES == SUPPORTED
    assert DEFAULTS["lab_suite"] in SUPPORTED


def test_ci_runs_every_supported_release_through_the_role_scenarios() -> None:
    # Claim only what the tests cover: each release runs in CI's molecule set, either
    # as a platform's os in a scenario or as a role's second release.
    from tests.integration.test_molecule_scenarios import SECOND_RELEASE

    covered = {DEFAULTS["lab_suite"], *SECOND_RELEASE.values()}
    for scenario in ROLES.glob("*/molecule/*/molecule.yml"):
        for platform in yaml.safe_load(scenario.read_text()).get("platforms") or []:
            covered.add(platform.get("os") or DEFAULTS["lab_suite"])
    assert covered == set(SUPPORTED)
