"""vault tasks: an unreachable server is exit 3 (README), a dangerous --prune exit 2, both before any write."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke import Context, Exit

from kubeprimer.tasks import vault as vault_tasks

# Nothing listens on port 1 of loopback: the connection is refused at once.
NOWHERE = "https://127.0.0.1:1"


def test_unseal_plan_and_init_against_no_server_exit_3(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("mounts: {apps: {}}\n")
    token = tmp_path / "token"
    token.write_text("s.any\n")
    token.chmod(0o600)
    runs = {
        "unseal": lambda: vault_tasks.unseal(Context(), keys_file=[], address=NOWHERE),
        "plan": lambda: vault_tasks.plan(
            Context(), config=str(config), address=NOWHERE, token_file=str(token)
        ),
        "init": lambda: vault_tasks.init(Context(), out=str(tmp_path / "out"), address=NOWHERE),
    }
    for name, run in runs.items():
        with pytest.raises(Exit) as raised:
            run()
        assert raised.value.code == 3, (name, raised.value.message)
        assert "127.0.0.1:1" in str(raised.value.message)


def test_prune_with_a_file_that_declares_nothing_is_refused_before_connecting(
    tmp_path: Path,
) -> None:
    # An empty or truncated file would otherwise remove every policy, mount and secret.
    for text in ("", "# nothing yet\n", "mounts: {}\npolicies: {}\n"):
        config = tmp_path / "config.yml"
        config.write_text(text)
        with pytest.raises(Exit) as raised:
            vault_tasks.apply(Context(), config=str(config), address=NOWHERE, prune=True)
        assert raised.value.code == 2
        assert "--prune with a file that declares nothing" in str(raised.value.message)
