"""Renders the kubeadm and cni roles' templates once per sample inventory, with
ansible-playbook itself (so Ansible's own variable precedence and filters apply)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ROOT
from tests.programs import ANSIBLE_PLAYBOOK, playbook_env
from tests.unit.cluster.scenarios import SCENARIOS, Scenario

RENDER_PLAYBOOK = Path(__file__).with_name("render.yml")


def write_inventory(base: Path, scenario: Scenario) -> Path:
    (base / "group_vars").mkdir(parents=True)
    (base / "host_vars").mkdir()
    (base / "hosts.yml").write_text(yaml.safe_dump(scenario["hosts"]))
    (base / "group_vars" / "all.yml").write_text(yaml.safe_dump(scenario["all"]))
    for host, values in scenario["host_vars"].items():
        (base / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(values))
    return base / "hosts.yml"


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """scenario name -> folder with one sub-folder of rendered files per host."""
    env = playbook_env()
    runs: dict[str, tuple[Path, subprocess.Popen[str]]] = {}
    # The three renders run side by side: each is a few seconds of Ansible start-up.
    for name, scenario in SCENARIOS.items():
        base = tmp_path_factory.mktemp(f"render-{name}")
        inventory = write_inventory(base / "inventory", scenario)
        out = base / "out"
        cmd = [
            ANSIBLE_PLAYBOOK,
            "-i",
            str(inventory),
            str(RENDER_PLAYBOOK),
            "-e",
            f"render_dir={out}",
        ]
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        runs[name] = (out, proc)
    result: dict[str, Path] = {}
    for name, (out, proc) in runs.items():
        log, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"rendering {name} failed:\n{log[-4000:]}"
        result[name] = out
    yield result


def docs(path: Path) -> list[dict[str, object]]:
    """The YAML documents of a rendered file, empty ones dropped."""
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def by_kind(path: Path) -> dict[str, dict[str, object]]:
    return {str(d["kind"]): d for d in docs(path)}
