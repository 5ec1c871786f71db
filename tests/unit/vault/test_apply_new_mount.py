"""vault.apply writes a secret into a KV v2 mount made a moment ago: the server's
"not ready yet" answers are waited out, any other refusal is not."""

from __future__ import annotations

import hvac.exceptions
import pytest

from kubeprimer.vault import plan


def _refuses(errors: list[Exception]) -> tuple[list[int], object]:
    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        if errors:
            raise errors.pop(0)

    return calls, step


def test_a_mount_still_upgrading_or_not_routed_yet_is_waited_for() -> None:
    calls, step = _refuses(
        [
            hvac.exceptions.InvalidRequest("Upgrading from non-versioned to versioned data"),
            hvac.exceptions.InvalidPath(
                'no handler for route "verify/data/app". route entry not found.'
            ),
            hvac.exceptions.InternalServerError(
                "Waiting for the primary to upgrade from non-versioned to versioned data."
            ),
        ]
    )
    plan._when_ready(step)  # type: ignore[arg-type]
    assert len(calls) == 4


def test_another_refusal_is_not_retried() -> None:
    calls, step = _refuses([hvac.exceptions.InvalidPath("no secret here")])
    with pytest.raises(hvac.exceptions.InvalidPath):
        plan._when_ready(step)  # type: ignore[arg-type]
    assert len(calls) == 1
