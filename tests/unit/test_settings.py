"""invoke.yaml is the one source of the project defaults: what Invoke loads from it in the
checkout, what the package hands to library code, and the keys the code asks for agree."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import yaml
from invoke import Config

from kubeprimer.lab.config import LabConfig
from kubeprimer.paths import ROOT
from kubeprimer.settings import DEFAULTS, PROJECT_CONFIG
from kubeprimer.tasks import ns

PACKAGE = ROOT / "kubeprimer"
# setting(c, "name") and settings["lab_name"]-style lookups in the package.
ASKED = re.compile(
    r"""setting\(\s*c\s*,\s*["']([a-z_]+)["']\s*\)|settings\[f?["']([a-z_{}]+)["']\]"""
)


def test_defaults_are_the_project_files_section() -> None:
    written = yaml.safe_load(PROJECT_CONFIG.read_text())["kubeprimer"]
    assert written == DEFAULTS
    assert DEFAULTS, "invoke.yaml has no kubeprimer settings"


def test_invoke_in_the_checkout_sees_the_same_defaults() -> None:
    config = Config(project_location=str(ROOT))
    config.load_collection(ns.configuration())
    config.load_project()
    assert dict(config.kubeprimer) == DEFAULTS


def test_every_setting_the_code_asks_for_has_a_default() -> None:
    asked: dict[str, Path] = {}
    for source in PACKAGE.rglob("*.py"):
        for match in ASKED.finditer(source.read_text()):
            name = match[1] or match[2]
            asked.setdefault(name, source)
    lab_keys = {f"lab_{f.name}" for f in dataclasses.fields(LabConfig)}
    # settings[f"lab_{key}"] in LabConfig stands for every one of its fields.
    names = {n for n in asked if "{" not in n} | lab_keys
    assert asked, "found no setting lookups: the pattern no longer matches the code"
    missing = sorted(n for n in names if n not in DEFAULTS)
    assert missing == [], f"settings without a default in invoke.yaml: {missing}"


def test_lab_config_defaults_are_the_project_defaults() -> None:
    lab = LabConfig()
    for f in dataclasses.fields(LabConfig):
        value = getattr(lab, f.name)
        expected = DEFAULTS[f"lab_{f.name}"]
        assert value == (Path(expected) if isinstance(value, Path) else expected), f.name
