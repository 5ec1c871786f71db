"""Command-line mistakes end like any other bad input: one sentence and exit status 2.

Invoke reports an unknown flag, a missing required argument or a flag without its value
with a ``ParseError`` of its own wording ("No idea what '--foo' is!"), and its
``Program`` ends every ``ParseError`` with status 1. Both entry points (the ``invoke``
program of the checkout and the ``kubeprimer`` console script) parse with Invoke's
``Parser`` after importing the task tree, and neither hands out a parser of our own, so
the tree wraps ``Parser.parse_argv`` (and ``Program.parse_cleanup``, where ``--help TASK``
names an unknown task) once: their errors are rewritten into a sentence that names the
option and the fix, raised as an error that is both a ``ParseError`` (shell completion
still catches those) and an ``Exit`` with status 2.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any

from invoke import Exit, ParseError, Program
from invoke.parser import Parser

from kubeprimer.errors import BAD_INPUT


class ArgumentError(ParseError, Exit):
    """A command-line mistake: Invoke's Program prints it once and exits 2."""

    def __init__(self, sentences: list[str], context: Any = None) -> None:
        Exception.__init__(self, "\n".join(f"error: {s}" for s in sentences))
        self.context = context
        # Program prints a ParseError itself; an Exit's message would print it twice.
        self.message = None
        self._code = BAD_INPUT


def program() -> str:
    """The name the user typed: invoke, inv or kubeprimer."""
    return os.path.basename(sys.argv[0]) or "invoke"


def _help_of(task: str) -> str:
    return f"`{program()} --help {task}` lists its options"


def _flag(argument: Any) -> str:
    return f"--{argument.name}"


def _what(argument: Any) -> str:
    text = str(argument.help or "its value").strip().rstrip(".")
    return text[:1].lower() + text[1:]


def _argument(context: Any, described: str) -> Any:
    """The Argument Invoke names by its repr in a message (``<Argument: out (o)>``)."""
    found = re.search(r"<\w+: ([\w-]+)", described)
    if context is None or found is None:
        return None
    return next((a for a in context.args.values() if a.name == found[1]), None)


def sentences(message: str, context: Any) -> list[str]:
    """Invoke's parse error as sentences a person can act on."""
    task = getattr(context, "name", None)
    unknown = re.fullmatch(r"No idea what '(.*)' is!", message)
    if unknown and task:
        token = unknown[1]
        if token.startswith("-"):
            return [f"{task} has no option {token}; {_help_of(task)}."]
        return [f"{task} takes no argument {token!r} there; {_help_of(task)}."]
    if unknown:
        token = unknown[1]
        if token.startswith("-"):
            return [f"{program()} has no option {token}; `{program()} --help` lists them."]
        return [f"There is no task {token!r}; `{program()} --list` shows every task."]
    if "did not receive required positional arguments" in message and context is not None:
        return [
            f"{task} needs {_flag(a)}: give the {_what(a)}."
            for a in context.missing_positional_args
        ]
    needs = re.fullmatch(r"Flag '?(.*?)'? needed value and was not given one!", message)
    argument = _argument(context, needs[1]) if needs else None
    if argument is not None:
        return [f"{_flag(argument)} needs a value: give the {_what(argument)}."]
    takes_none = re.fullmatch(r"Flag '?(.*?)'? doesn't take any value!", message)
    argument = _argument(context, takes_none[1]) if takes_none else None
    if argument is not None:
        return [f"{_flag(argument)} takes no value: give {_flag(argument)} alone to turn it on."]
    where = f"; {_help_of(task)}" if task else f"; see `{program()} --help`"
    return [message.rstrip("!. ") + where + "."]


def dashed_positionals(result: Any) -> list[str]:
    """A flag Invoke does not know, eaten as a required argument's value
    (``vault.init --foo`` would make ``--foo`` the key folder)."""
    return [
        f"{context.name} has no option {arg.value}; {_help_of(context.name)}."
        for context in result
        for arg in getattr(context, "positional_args", [])
        if isinstance(arg.value, str) and arg.value.startswith("-")
    ]


def _converting(method: Callable[..., Any], check_result: bool) -> Callable[..., Any]:
    def wrapped(self: Any, *args: Any) -> Any:
        try:
            result = method(self, *args)
        except ArgumentError:
            raise
        except ParseError as error:
            context = getattr(error, "context", None)
            raise ArgumentError(sentences(str(error), context), context) from None
        problems = dashed_positionals(result) if check_result else []
        if problems:
            raise ArgumentError(problems)
        return result

    wrapped._kubeprimer = True  # type: ignore[attr-defined]
    return wrapped


def install() -> None:
    """Wrap Invoke's parsing once (the parser, and --help TASK in the program's clean-up);
    later calls do nothing."""
    if getattr(Parser.parse_argv, "_kubeprimer", False):
        return
    Parser.parse_argv = _converting(Parser.parse_argv, check_result=True)  # type: ignore[method-assign]
    Program.parse_cleanup = _converting(Program.parse_cleanup, check_result=False)  # type: ignore[method-assign]
