"""The collection's metadata (galaxy.yml, meta/runtime.yml) agrees with the rest of the
project: its version is the package's, its ansible-core range is the one pyproject
pins, and it declares every collection the roles and playbooks use. The playbooks name
the collection's roles and modules fully, so they run the same from the checkout and
from the installed collection."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.paths import PLAYBOOKS, ROLES, ROOT

GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Collections that ship with ansible-core itself need no declaration.
BUILTIN = {"ansible.builtin", "ansible.legacy"}
OWN = f"{GALAXY['namespace']}.{GALAXY['name']}"
MODULES = {p.stem for p in (ROOT / "plugins" / "modules").glob("*.py")}
_TASK_LISTS = ("pre_tasks", "tasks", "post_tasks", "handlers", "block", "rescue", "always")
_ROLE_ACTIONS = {f"ansible.builtin.{a}_role" for a in ("import", "include")}


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
    # Only tasks name modules: a dotted key in vars (a sysctl such as kernel.keys.*) is data.
    tasks = [*ROLES.glob("*/tasks/**/*.yml"), *ROLES.glob("*/handlers/*.yml")]
    for path in [*tasks, *PLAYBOOKS.glob("*.yml")]:
        for match in re.finditer(
            r"^\s*-?\s*([a-z_]+\.[a-z_]+)\.[a-z_0-9]+:", path.read_text(), re.M
        ):
            used.add(match.group(1))
    used -= BUILTIN | {OWN}
    assert used, "no fully qualified module found: the pattern no longer matches"
    assert used <= set(GALAXY["dependencies"]), used - set(GALAXY["dependencies"])


def test_test_and_development_files_stay_out_of_the_artifact() -> None:
    ignored = set(GALAXY["build_ignore"])
    for folder in ("kubeprimer", "inventories", "roles/*/molecule", ".*", "scripts"):
        assert folder in ignored, folder
    # Only ansible-test's sanity ignore file ships from tests/.
    kept = {p.name for p in (ROOT / "tests").iterdir() if p.name != "__pycache__"} - {"sanity"}
    assert {f"tests/{name}" for name in kept} <= ignored, kept


def _tasks(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every task of a play, blocks opened."""
    for key in _TASK_LISTS:
        for task in node.get(key) or []:
            yield task
            yield from _tasks(task)


def _references(playbook: Path) -> Iterator[str]:
    """The roles and the project's modules a playbook names, as it names them."""
    for play in yaml.safe_load(playbook.read_text()) or []:
        for role in play.get("roles") or []:
            yield role if isinstance(role, str) else role["role"]
        for task in _tasks(play):
            for key, args in task.items():
                if key in _ROLE_ACTIONS:
                    yield args["name"]
                elif key.rsplit(".", 1)[-1] in MODULES:
                    yield key


@pytest.mark.parametrize("playbook", sorted(PLAYBOOKS.glob("*.yml")), ids=lambda p: p.name)
def test_playbooks_name_the_collections_roles_and_modules_fully(playbook: Path) -> None:
    named = list(_references(playbook))
    assert named, "no role or module found: the walk no longer matches the playbook"
    short = [n for n in named if not n.startswith(f"{OWN}.")]
    assert not short, f"{playbook.name} names {short} without {OWN}."
    roles = {p.name for p in ROLES.iterdir()} | MODULES
    assert {n.removeprefix(f"{OWN}.") for n in named} <= roles
