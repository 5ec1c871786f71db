"""One command-line grammar: help that renders, and argument mistakes as exit 2 with a sentence.

Help is read in-process through Invoke's own Program (what `invoke --help TASK` prints);
the exit status of each entry point is checked by running it.
"""

from __future__ import annotations

import re

import pytest
from invoke import Program

from kubeprimer.tasks import ns
from tests.programs import run_program

FLAG = re.compile(r"-[A-Za-z0-9]( [A-Z]+)?|--(\[no-\])?[a-z0-9][a-z0-9-]*(=[A-Z]+)?")
LONG = re.compile(r"--(?:\[no-\])?([a-z0-9][a-z0-9-]*)")


def task_names() -> list[str]:
    return sorted(f"{sub.name}.{name}" for sub in ns.collections.values() for name in sub.tasks)


def task_help(name: str, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    """(flags, help) per option of `invoke --help NAME`, help lines joined."""
    Program(namespace=ns, name="invoke", binary="invoke").run(
        ["invoke", "--help", name], exit=False
    )
    text = capsys.readouterr().out
    assert "Options:" in text, text
    options: list[tuple[str, str]] = []
    for line in text.split("Options:", 1)[1].splitlines():
        if re.match(r"^  -", line):
            flags, _, help_text = line.strip().partition("  ")
            options.append((flags.strip(), help_text.strip()))
        elif line.startswith("   ") and options:
            flags, help_text = options[-1]
            options[-1] = (flags, f"{help_text} {line.strip()}".strip())
    return options


@pytest.mark.parametrize("name", task_names())
def test_every_option_renders_with_a_flag_and_help(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    options = task_help(name, capsys)
    collection, task = name.split(".", 1)
    wanted = {p.replace("_", "-") for p in ns.collections[collection].tasks[task].help}
    for flags, help_text in options:
        # Each flag is -x [VALUE] or --long-name[=VALUE], never a bare "--" ("--=STRING").
        for flag in flags.split(", "):
            assert FLAG.fullmatch(flag), f"{name}: flag {flag!r} in {flags!r}"
        assert help_text, f"{name}: {flags} has no help text"
    shown = {m for flags, _ in options for m in LONG.findall(flags)}
    assert wanted <= shown, f"{name}: options missing from --help: {wanted - shown}"


# The lab's tasks make the lab and its inventory, and versions reads the pins file only;
# every other task reaches hosts, servers or the cluster, and finds them through an inventory.
NO_INVENTORY = {"lab", "versions"}


@pytest.mark.parametrize("name", [n for n in task_names() if n.split(".")[0] not in NO_INVENTORY])
def test_every_task_that_reaches_hosts_takes_dash_i(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = [f for f, _ in task_help(name, capsys)]
    assert "-i STRING, --inventory=STRING" in flags or "--inventory=STRING" in flags, flags


def test_the_ca_option_of_vault_apply_renders_as_its_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    flags = [f for f, _ in task_help("vault.apply", capsys)]
    assert "--ca-cert=STRING" in flags
    assert not any(f.startswith("--=") for f in flags)


@pytest.mark.parametrize("binary", ["invoke", "kubeprimer"])
@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (
            ["vault.init"],
            "error: vault.init needs --out: give the folder for the key files and the admin "
            "token (made mode 0700 if missing).",
        ),
        (
            ["cluster.check", "--foo"],
            "error: cluster.check has no option --foo; `{prog} --help cluster.check` lists its options.",
        ),
        # An unknown flag where a required argument is due is not taken as its value.
        (
            ["vault.init", "--foo"],
            "error: vault.init has no option --foo; `{prog} --help vault.init` lists its options.",
        ),
        (
            ["cluster.check", "--timeout"],
            "error: --timeout needs a value: give the seconds to wait for each host's SSH "
            "connection (default 10).",
        ),
        (
            ["no.such-task"],
            "error: There is no task 'no.such-task'; `{prog} --list` shows every task.",
        ),
        (
            ["--help", "no.such-task"],
            "error: There is no task 'no.such-task'; `{prog} --list` shows every task.",
        ),
    ],
    ids=[
        "missing-required",
        "unknown-flag",
        "unknown-flag-for-required",
        "no-value",
        "no-task",
        "help-of-no-task",
    ],
)
def test_argument_errors_exit_2_with_one_sentence(
    binary: str, argv: list[str], sentence: str
) -> None:
    done = run_program(binary, *argv)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == sentence.format(prog=binary)
    assert done.stdout == ""
