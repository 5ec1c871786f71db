"""Errors a user can act on.

Library code raises these; the task layer turns them into one line on stderr and
exit status 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable

BAD_INPUT = 2


class UserError(Exception):
    """A mistake the user can fix. Each message is one sentence that says how."""

    exit_code = BAD_INPUT

    def __init__(self, *messages: str) -> None:
        self.messages = [m for m in messages if m]
        super().__init__("\n".join(self.messages))


def raise_if(problems: Iterable[str]) -> None:
    """Report every problem at once, so a user fixes them in one round."""
    found = list(problems)
    if found:
        raise UserError(*found)
