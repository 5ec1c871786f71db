"""execution-environment.yml and collections/requirements.yml cannot drift from what
the project pins: every Python requirement of the image carries pyproject.toml's range
for the same package, and the collections are those galaxy.yml depends on, at the
versions the installed `ansible` package ships (the ones the tests run)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import ansible_collections
import yaml

from kubeprimer.paths import ROOT

EE = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REQUIREMENTS = yaml.safe_load((ROOT / "collections" / "requirements.yml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].lower()


PINNED = {_name(r): r for r in PYPROJECT["project"]["dependencies"]}


def test_every_python_requirement_has_the_range_pyproject_pins() -> None:
    deps = EE["dependencies"]
    wanted = [
        deps["ansible_core"]["package_pip"],
        deps["ansible_runner"]["package_pip"],
        *deps["python"],
    ]
    for requirement in wanted:
        assert requirement == PINNED.get(_name(requirement)), requirement


def test_the_image_runs_the_python_pyproject_requires() -> None:
    minimum = PYPROJECT["project"]["requires-python"].removeprefix(">=")
    interpreter = EE["dependencies"]["python_interpreter"]
    assert interpreter["package_system"] == f"python{minimum}"
    assert interpreter["python_path"] == f"/usr/bin/python{minimum}"


def test_the_collections_are_galaxy_yml_dependencies_at_the_tested_versions() -> None:
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    listed = {c["name"]: c["version"] for c in REQUIREMENTS["collections"]}
    assert set(listed) == set(galaxy["dependencies"])
    installed = Path(next(iter(ansible_collections.__path__)))
    for name, version in listed.items():
        manifest = installed / name.replace(".", "/") / "MANIFEST.json"
        shipped = json.loads(manifest.read_text())["collection_info"]["version"]
        assert version == shipped, f"{name}: requirements.yml {version}, ansible ships {shipped}"


def test_the_definition_points_at_the_files_beside_it() -> None:
    deps = EE["dependencies"]
    assert EE["version"] == 3
    assert (ROOT / deps["system"]).is_file() and (ROOT / deps["galaxy"]).is_file()
