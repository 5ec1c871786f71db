"""vault.init's options: a mistake is one sentence and exit 2 before any server is asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke import Context, Exit

from kubeprimer.tasks import vault as vault_tasks

# Nothing listens on port 1: a check that came too late would fail on the connection.
NOWHERE = "https://127.0.0.1:1"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"key_shares": "abc"}, "--key-shares 'abc' must be a whole number"),
        ({"key_threshold": "2.5"}, "--key-threshold '2.5' must be a whole number"),
        # Asking for operator keys and naming none must not fall back to plain-text keys.
        ({"pgp_keys": ","}, "--pgp-keys names no key file"),
        ({"age_recipients": ""}, "--age-recipients names no file"),
        ({"out": ""}, "--out names no folder"),
    ],
)
def test_init_options_are_checked_first(
    tmp_path: Path, options: dict[str, str], expected: str
) -> None:
    given = {"out": str(tmp_path / "out"), "address": NOWHERE, **options}
    with pytest.raises(Exit) as raised:
        vault_tasks.init(Context(), **given)
    assert raised.value.code == 2
    assert str(raised.value.message).startswith(f"error: {expected}"), raised.value.message
    assert not (tmp_path / "out").exists()
