"""Every role's public defaults are exactly the options its argument_specs declare,
with the same default values, so Ansible's own input validation covers them all."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ROLES

ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "tasks").is_dir())


def read(path: Path) -> dict[str, object]:
    return yaml.safe_load(path.read_text()) or {} if path.exists() else {}


def test_roles_exist() -> None:
    assert ROLE_DIRS, "no roles found"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=[p.name for p in ROLE_DIRS])
def test_defaults_match_argument_specs(role: Path) -> None:
    defaults = read(role / "defaults" / "main.yml")
    specs = read(role / "meta" / "argument_specs.yml")
    assert specs, f"{role.name} has no meta/argument_specs.yml"
    options = specs["argument_specs"]["main"].get("options") or {}  # type: ignore[index]
    assert set(defaults) == set(options), (
        f"{role.name}: defaults and argument_specs name different variables"
    )
    for name, value in defaults.items():
        assert "default" in options[name], f"{role.name}: {name} has no default in argument_specs"
        assert options[name]["default"] == value, f"{role.name}: {name} defaults differ"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=[p.name for p in ROLE_DIRS])
def test_anatomy(role: Path) -> None:
    for part in (
        "defaults/main.yml",
        "meta/main.yml",
        "meta/argument_specs.yml",
        "tasks/main.yml",
        "README.md",
    ):
        assert (role / part).is_file(), f"{role.name} lacks {part}"
