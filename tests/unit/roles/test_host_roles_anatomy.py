"""The host-level roles keep the house anatomy: defaults and argument specs agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.paths import ROLES

HOST_ROLES = ["pki", "node_prep", "containerd", "kube_artifacts", "etcd", "api_endpoint"]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _present(role: str) -> Path:
    # A host role that is missing is a broken checkout, not a reason to skip.
    folder = ROLES / role
    assert (folder / "defaults" / "main.yml").is_file(), (
        f"roles/{role}/defaults/main.yml is missing"
    )
    return folder


@pytest.mark.parametrize("role", HOST_ROLES)
def test_every_default_is_specified_with_the_same_value(role: str) -> None:
    folder = _present(role)
    defaults = _load(folder / "defaults" / "main.yml")
    options = _load(folder / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, value in defaults.items():
        assert options[name].get("default") == value, name
        assert options[name].get("description"), name


@pytest.mark.parametrize("role", HOST_ROLES)
def test_public_variables_carry_the_role_prefix(role: str) -> None:
    folder = _present(role)
    defaults = _load(folder / "defaults" / "main.yml")
    assert [n for n in defaults if not n.startswith(f"{role}_")] == []


@pytest.mark.parametrize("role", HOST_ROLES)
def test_role_has_the_house_anatomy(role: str) -> None:
    folder = _present(role)
    for part in (
        "meta/main.yml",
        "tasks/main.yml",
        "tasks/preflight.yml",
        "README.md",
        "molecule/default/molecule.yml",
        "molecule/default/converge.yml",
        "molecule/default/verify.yml",
    ):
        assert (folder / part).exists(), part
    readme = (folder / "README.md").read_text()
    for heading in ("Requirements", "Role Variables", "Dependencies", "Example Playbook"):
        assert f"## {heading}" in readme, heading


def test_pki_issue_entry_point_accepts_the_same_options_as_main() -> None:
    specs = _load(_present("pki") / "meta" / "argument_specs.yml")["argument_specs"]
    assert specs["issue"]["options"] == specs["main"]["options"]
