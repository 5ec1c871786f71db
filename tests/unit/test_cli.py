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
from tests.programs import run_program


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


INT_OPTIONS = sorted(
    (name, param.replace("_", "-"))
    for name, body in TASKS
    for param, value in inspect.signature(body.body).parameters.items()
    if type(value.default) is int
)


def test_tasks_have_whole_number_options() -> None:
    assert INT_OPTIONS, "no task takes a whole number: the test below would prove nothing"


@pytest.mark.parametrize(
    ("name", "flag"), INT_OPTIONS[:3], ids=[f"{n} --{f}" for n, f in INT_OPTIONS[:3]]
)
def test_an_option_that_is_not_a_number_is_one_sentence_and_exit_2(name: str, flag: str) -> None:
    done = run_program("invoke", name, f"--{flag}", "abc")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: --{flag} takes a whole number, not 'abc'."
    assert "Traceback" not in done.stdout + done.stderr
