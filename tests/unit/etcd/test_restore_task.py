"""etcd.restore: when the playbook stops part-way, the message names the command that finishes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from invoke import Context, Exit

from kubeprimer.tasks import etcd as etcd_tasks


def test_a_restore_that_stopped_says_how_to_finish_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def stopped(*_args: Any, **_kwargs: Any) -> None:
        raise Exit("etcd_restore.yml did not complete; the failing tasks are listed above.", code=1)

    monkeypatch.setattr(etcd_tasks, "load_inventory", lambda _c, _given: object())
    monkeypatch.setattr("kubeprimer.etcd.settings.check", lambda _inv: None)
    monkeypatch.setattr(etcd_tasks, "play_on", stopped)

    with pytest.raises(Exit) as raised:
        etcd_tasks.restore(Context(), snapshot="1a2b3c4d", yes=True, inventory="inv/prod")

    assert raised.value.code == 1
    assert str(raised.value.message).endswith(
        "run 'invoke etcd.restore --snapshot 1a2b3c4d --yes -i inv/prod' again to finish "
        "the restore."
    )
    assert "Nothing is lost" in str(raised.value.message)
