"""The task tree: namespaced, every task and argument explained, runnable from anywhere."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Collection, Task

from kubeprimer.paths import ROOT
from kubeprimer.tasks import ns


def all_tasks(collection: Collection) -> list[tuple[str, Task]]:  # type: ignore[type-arg]
    found = []
    for sub in collection.collections.values():
        found += [(f"{sub.name}.{name}", t) for name, t in sub.tasks.items()]
        found += all_tasks(sub)
    return found


TASKS = all_tasks(ns)


def test_tasks_are_namespaced() -> None:
    assert not ns.tasks, "tasks belong in a namespace"
    assert TASKS


@pytest.mark.parametrize(("name", "body"), TASKS, ids=[n for n, _ in TASKS])
def test_every_task_and_argument_has_help(name: str, body: Task) -> None:  # type: ignore[type-arg]
    assert body.__doc__ and body.__doc__.strip().splitlines()[0].endswith("."), (
        f"{name} needs a one-line docstring"
    )
    params = [p for p in inspect.signature(body.body).parameters if p != "c"]
    missing = [p for p in params if p not in body.help]
    assert not missing, f"{name}: arguments without help=: {missing}"


def bin_path(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_console_script_runs_the_same_tree_from_another_directory(tmp_path: Path) -> None:
    listed = subprocess.run(
        [bin_path("kubeprimer"), "--list"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    from_repo = subprocess.run(
        [bin_path("invoke"), "--list"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    # Only the heading differs ("Subcommands" for a bundled program).
    assert listed.stdout.splitlines()[1:] == from_repo.stdout.splitlines()[1:]
