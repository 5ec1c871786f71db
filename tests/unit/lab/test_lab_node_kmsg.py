"""Lab nodes get the host's /dev/kmsg only where the host has one: a host without it
still boots nodes, and cluster.check then names the missing device."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeprimer.lab import node


def test_kmsg_is_bound_only_where_the_host_has_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node, "KMSG", tmp_path / "kmsg")
    assert node.kmsg_bind() == []
    (tmp_path / "kmsg").touch()
    assert node.kmsg_bind() == [f"--bind-ro={tmp_path / 'kmsg'}"]


def test_writes_to_kmsg_are_denied_in_a_v1_devices_cgroup(tmp_path: Path) -> None:
    (tmp_path / "devices.deny").write_text("")
    node._deny_kmsg_writes(tmp_path)
    assert (tmp_path / "devices.deny").read_text() == "c 1:11 w"
    other = tmp_path / "memory"
    other.mkdir()
    node._deny_kmsg_writes(other)  # no devices controller here: nothing to write
    assert not list(other.iterdir())
