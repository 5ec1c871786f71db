"""Every role's public defaults are exactly the options its argument_specs declare,
with the same default values, so Ansible's own input validation covers them all."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ROLES

ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "tasks").is_dir())
PINS = "kubeprimer_pins"


def read(path: Path) -> dict[str, object]:
    return yaml.safe_load(path.read_text()) or {} if path.exists() else {}


def read_defaults(role: Path) -> dict[str, object]:
    """defaults/main.yml, or every file of defaults/main/ (Ansible reads the folder whole)."""
    folder = role / "defaults" / "main"
    files = sorted(folder.glob("*.yml")) if folder.is_dir() else [role / "defaults" / "main.yml"]
    merged: dict[str, object] = {}
    for path in files:
        merged.update(read(path))
    # The pins are data with their own schema test (tests/unit/pins); the spec names them.
    merged.pop(PINS, None)
    return merged


def test_roles_exist() -> None:
    assert ROLE_DIRS, "no roles found"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=[p.name for p in ROLE_DIRS])
def test_defaults_match_argument_specs(role: Path) -> None:
    defaults = read_defaults(role)
    specs = read(role / "meta" / "argument_specs.yml")
    assert specs, f"{role.name} has no meta/argument_specs.yml"
    options = dict(specs["argument_specs"]["main"].get("options") or {})  # type: ignore[index]
    options.pop(PINS, None)
    assert set(defaults) == set(options), (
        f"{role.name}: defaults and argument_specs name different variables"
    )
    for name, value in defaults.items():
        assert "default" in options[name], f"{role.name}: {name} has no default in argument_specs"
        assert options[name]["default"] == value, f"{role.name}: {name} defaults differ"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=[p.name for p in ROLE_DIRS])
def test_anatomy(role: Path) -> None:
    defaults = role / "defaults"
    assert (defaults / "main.yml").is_file() or (defaults / "main").is_dir(), (
        f"{role.name} lacks defaults/main.yml"
    )
    for part in (
        "meta/main.yml",
        "meta/argument_specs.yml",
        "tasks/main.yml",
        "README.md",
    ):
        assert (role / part).is_file(), f"{role.name} lacks {part}"
