"""The question a task asks before it changes something for good.

Without a terminal there is nobody to answer, so the task stops before its first
change (exit 2) unless ``--yes`` was given.
"""

from __future__ import annotations

import sys
from typing import TextIO

from kubeprimer.errors import UserError


def confirm(
    yes: bool,
    *,
    needs: str,
    question: str,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """Go on when ``yes`` or when the user types yes to ``question``; else raise
    ``UserError``. ``needs`` starts the sentence given without a terminal, e.g.
    "cluster.reset tears the cluster down"."""
    if yes:
        return
    if not stdin.isatty():
        raise UserError(f"{needs} and needs confirmation: run it in a terminal, or add --yes.")
    stdout.write(f"{question} Type yes to go on: ")
    stdout.flush()
    if stdin.readline().strip().lower() != "yes":
        raise UserError("Not confirmed, so nothing was changed; run the task again and answer yes.")
