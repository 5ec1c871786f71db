"""The Molecule driver's choice of releases: each platform's os, or one override."""

from __future__ import annotations

import pytest

from kubeprimer.errors import UserError
from kubeprimer.lab import molecule
from kubeprimer.lab.config import LabConfig


def test_platforms_keep_their_os_and_the_rest_take_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(molecule.OS_ENV, raising=False)
    cfg = LabConfig(suite="bookworm")
    assert molecule.releases(cfg, ["", "trixie", ""], 3) == ["bookworm", "trixie", "bookworm"]
    assert molecule.releases(cfg, [], 2) == ["bookworm", "bookworm"]


def test_the_override_applies_to_every_node_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(molecule.OS_ENV, "trixie")
    assert molecule.releases(LabConfig(), ["bookworm", ""], 2) == ["trixie", "trixie"]
    monkeypatch.setenv(molecule.OS_ENV, "sid")
    with pytest.raises(UserError, match="--os names 'sid'"):
        molecule.releases(LabConfig(), [], 1)


def test_an_override_gets_a_lab_of_its_own_and_no_override_the_usual_one() -> None:
    usual = molecule.lab_name("etcd", "default")
    assert usual == molecule.lab_name("etcd", "default", "")
    assert usual != molecule.lab_name("etcd", "default", "trixie")
    assert len(molecule.lab_name("etcd", "default", "trixie")) == 8
