"""The task decorator every namespace uses.

It keeps the promise that user mistakes end in one sentence and exit status 2:
a UserError raised anywhere below a task becomes an ``invoke.Exit``, and so does an
option value Invoke cannot convert (``--timeout abc``), which Invoke itself would
end with a ValueError traceback. Parse errors (an unknown flag, a missing required
argument) end the same way through ``_arguments``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from invoke import Argument, Exit, Task
from invoke import task as invoke_task

from kubeprimer import redact
from kubeprimer.errors import UserError
from kubeprimer.tasks import _arguments

F = TypeVar("F", bound=Callable[..., Any])


class _CheckedArgument(Argument):
    def set_value(self, value: Any, cast: bool = True) -> None:
        try:
            super().set_value(value, cast)
        except ValueError:
            kind = getattr(self.kind, "__name__", "value")
            flag = f"--{(self.name or '').replace('_', '-')}"
            wanted = "a whole number" if self.kind is int else f"a {kind}"
            raise Exit(f"error: {flag} takes {wanted}, not {value!r}.", code=2) from None


class _Task(Task[Any]):
    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        # Invoke picks a short flag from the name's characters, the dash included once the
        # letters are taken: --ca-cert became "-" and --help showed "--=STRING".
        opts["names"] = [n for n in opts["names"] if len(n) > 1 or n.isalnum()]
        return opts

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        # Invoke pops each help text off the task as it builds the Argument; kept, the
        # tree can be parsed again in one process (tests, shell completion) with its help.
        kept = dict(self.help)
        try:
            arguments = super().get_arguments(ignore_unknown_help)
        finally:
            self.help = kept
        for argument in arguments:
            # Same fields, one more check: Invoke builds the Argument itself.
            argument.__class__ = _CheckedArgument
        return arguments


_arguments.install()


def task(*args: Any, **kwargs: Any) -> Callable[[F], Any]:
    """Like ``invoke.task``, but UserError exits with its code and no traceback."""

    def decorate(body: F) -> Any:
        @functools.wraps(body)
        def guarded(*a: Any, **kw: Any) -> Any:
            try:
                return body(*a, **kw)
            except UserError as error:
                # A message may quote a setting back; a URL's password stays masked.
                raise Exit(
                    "\n".join(f"error: {redact.text(m)}" for m in error.messages),
                    code=error.exit_code,
                ) from None

        return invoke_task(*args, klass=_Task, **kwargs)(guarded)

    return decorate
