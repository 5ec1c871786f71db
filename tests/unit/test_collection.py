"""The collection's metadata (galaxy.yml, meta/runtime.yml) agrees with the rest of the
project: its version is the package's, its ansible-core range is the one pyproject
pins, and it declares every collection the roles and playbooks use."""

from __future__ import annotations

import re
import tomllib

import yaml

from kubeprimer.paths import PLAYBOOKS, ROLES, ROOT

GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Collections that ship with ansible-core itself need no declaration.
BUILTIN = {"ansible.builtin", "ansible.legacy"}


def _semver(python_version: str) -> str:
    """PEP 440's 0.2.0.dev0 is semantic versioning's 0.2.0-dev0."""
    return re.sub(r"\.(dev|a|b|rc)(\d+)$", r"-\1\2", python_version)


def test_the_collection_version_is_the_package_version() -> None:
    assert GALAXY["version"] == _semver(PYPROJECT["project"]["version"])
    assert (GALAXY["namespace"], GALAXY["name"]) == ("kubeprimer", "cluster")


def test_requires_ansible_is_the_ansible_core_range_pyproject_pins() -> None:
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    core = next(d for d in PYPROJECT["project"]["dependencies"] if d.startswith("ansible-core"))
    low, high = re.findall(r"[<>]=?([\d.]+)", core)
    assert runtime["requires_ansible"] == f">={low}.0,<{high}.0"


def test_every_collection_the_content_uses_is_a_dependency() -> None:
    used: set[str] = set()
    for path in [*ROLES.rglob("*.yml"), *PLAYBOOKS.rglob("*.yml")]:
        if "molecule" in path.parts:
            continue  # scenarios run from a checkout, not from the collection
        for match in re.finditer(
            r"^\s*-?\s*([a-z_]+\.[a-z_]+)\.[a-z_0-9]+:", path.read_text(), re.M
        ):
            used.add(match.group(1))
    used -= BUILTIN
    assert used, "no fully qualified module found: the pattern no longer matches"
    assert used <= set(GALAXY["dependencies"]), used - set(GALAXY["dependencies"])


def test_test_and_development_files_stay_out_of_the_artifact() -> None:
    ignored = set(GALAXY["build_ignore"])
    for folder in ("kubeprimer", "inventories", "roles/*/molecule", ".*", "scripts"):
        assert folder in ignored, folder
    # Only ansible-test's sanity ignore file ships from tests/.
    kept = {p.name for p in (ROOT / "tests").iterdir() if p.name != "__pycache__"} - {"sanity"}
    assert {f"tests/{name}" for name in kept} <= ignored, kept
