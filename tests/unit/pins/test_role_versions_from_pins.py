"""No role default, role constant or addon names a version of its own: each reads it
from the one pins file (roles/kube_defaults/defaults/main/pins.yml), so a refresh there
reaches every role and addon, and `invoke versions` shows everything deployed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer import pins
from kubeprimer.paths import ADDONS, ROLES

# A release number in a value (1.37.1, v0.28.9, 3.10, 2.8.1), not inside a Jinja expression.
_VERSION = re.compile(r"(?<![\w.{])v?\d+\.\d+(\.\d+)?(?![\w.])")
# Values that hold a number with dots but are no release: CIDRs, addresses, octal modes.
_NOT_A_VERSION = re.compile(r"^\d+\.\d+\.\d+\.\d+(/\d+)?$")

# Role files that hold settings, constants or both.
ROLE_FILES = sorted(
    p
    for pattern in ("*/defaults/main.yml", "*/defaults/main/*.yml", "*/vars/main.yml")
    for p in ROLES.glob(pattern)
    if p != pins.PINS_FILE
)
ADDON_FILES = sorted(ADDONS.glob("*/addon.yml"))


def literal_versions(value: Any, where: str = "") -> list[str]:
    """Every string leaf that is, or carries outside Jinja, a release number."""
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in literal_versions(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in literal_versions(v, f"{where}[{i}]")]
    if not isinstance(value, str) or _NOT_A_VERSION.match(value):
        return []
    outside_jinja = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", value, flags=re.S)
    return [f"{where.lstrip('.')}: {value!r}"] if _VERSION.search(outside_jinja) else []


def test_the_check_finds_a_literal_version_and_lets_a_pin_through() -> None:
    assert literal_versions({"x_version": "v3.30.2"})
    assert literal_versions({"image": "docker.io/calico/node:v3.30.2"})
    assert not literal_versions({"x_version": "{{ kubeprimer_pins.calico.version }}"})
    assert not literal_versions({"cidr": "10.244.0.0/16", "ip": "0.0.0.0", "mode": "0755"})


@pytest.mark.parametrize("path", ROLE_FILES, ids=[str(p.relative_to(ROLES)) for p in ROLE_FILES])
def test_role_settings_name_no_version_of_their_own(path: Path) -> None:
    found = literal_versions(yaml.safe_load(path.read_text()) or {})
    assert not found, (
        f"{path.relative_to(ROLES)} names versions; read them from kubeprimer_pins: {found}"
    )


@pytest.mark.parametrize("path", ADDON_FILES, ids=[p.parent.name for p in ADDON_FILES])
def test_addons_name_their_images_and_version_by_pin(path: Path) -> None:
    addon = yaml.safe_load(path.read_text()) or {}
    # An app (kind: app, such as the demo) is kubeprimer's own: its version is its own.
    own = addon.get("kind") == "app"
    found = literal_versions(
        {"version": None if own else addon.get("version"), "images": addon.get("images")}
    )
    assert not found, f"{path.relative_to(ADDONS)} names versions; use {{pin: NAME}}: {found}"
