"""A real ansible-playbook run through the runner on this machine (local connection):
the runs folder and the fact cache it leaves are owner-only, even when the folder was
already there with a wider mode. Cached facts hold each host's environment."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kubeprimer.ansible import runner

pytestmark = pytest.mark.integration

PLAY = """- name: gather
  hosts: local
  gather_facts: true
  tasks: []
"""


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_runs_folder_and_fact_cache_are_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "gather.yml").write_text(PLAY)
    monkeypatch.setattr(runner, "PLAYBOOKS", playbooks)
    inventory = tmp_path / "inv" / "hosts.yml"
    inventory.parent.mkdir()
    inventory.write_text(
        "local:\n  hosts:\n    controller:\n"
        f"      ansible_connection: local\n      ansible_python_interpreter: {sys.executable}\n"
    )
    runs = tmp_path / ".runs"
    (runs / "facts").mkdir(parents=True)
    runs.chmod(0o755)
    (runs / "facts").chmod(0o755)
    earlier = runs / "facts" / "earlier-host"
    earlier.write_text("{}")
    earlier.chmod(0o644)

    result = runner.run_playbook("gather.yml", inventory, runs_dir=runs)

    assert result.exit_code == runner.EXIT_OK
    modes = {p.name: _mode(p) for p in (runs / "facts").iterdir()}
    # The cache names a host's file with a prefix of its own (s1_controller).
    assert any(name.endswith("controller") for name in modes), "the play gathered facts"
    assert set(modes.values()) == {0o600}, modes
    assert _mode(runs) == 0o700
    assert _mode(runs / "facts") == 0o700
