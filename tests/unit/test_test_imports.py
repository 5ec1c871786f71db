"""Tests import their helpers through pytest's `pythonpath` (pyproject.toml), never by
editing sys.path themselves: one place says where test helpers are found."""

from __future__ import annotations

import re
import tomllib

from kubeprimer.paths import ROOT

TESTS = ROOT / "tests"
EDIT = re.compile(r"^\s*sys\.path(\.insert|\.append|\.extend|\[)", re.MULTILINE)


def test_no_test_edits_sys_path() -> None:
    editing = sorted(
        str(p.relative_to(ROOT)) for p in TESTS.rglob("*.py") if EDIT.search(p.read_text())
    )
    assert editing == [], (
        f"use pytest's pythonpath in pyproject.toml instead of sys.path: {editing}"
    )


def test_pythonpath_folders_exist() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert config["pythonpath"], "pyproject.toml sets no pytest pythonpath"
    assert [p for p in config["pythonpath"] if not (ROOT / p).is_dir()] == []
