"""The task decorator every namespace uses.

It keeps the promise that user mistakes end in one sentence and exit status 2:
a UserError raised anywhere below a task becomes an ``invoke.Exit``, and so does an
option value Invoke cannot convert (``--timeout abc``), which Invoke itself would
end with a ValueError traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from invoke import Argument, Exit, Task
from invoke import task as invoke_task

from kubeprimer import redact
from kubeprimer.errors import UserError

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
    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        arguments = super().get_arguments(ignore_unknown_help)
        for argument in arguments:
            # Same fields, one more check: Invoke builds the Argument itself.
            argument.__class__ = _CheckedArgument
        return arguments


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
