"""The task decorator every namespace uses.

It keeps the promise that user mistakes end in one sentence and exit status 2:
a UserError raised anywhere below a task becomes an ``invoke.Exit``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from invoke import Exit
from invoke import task as invoke_task

from kubeprimer import redact
from kubeprimer.errors import UserError

F = TypeVar("F", bound=Callable[..., Any])


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

        return invoke_task(*args, **kwargs)(guarded)

    return decorate
