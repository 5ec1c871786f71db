"""A run that stopped after changing something: not bad input, so not exit status 2."""

from __future__ import annotations

from kubeprimer.errors import UserError


class PartlyDone(UserError):
    """Some steps were made and some not; each message says which, and how to finish."""

    exit_code = 1
