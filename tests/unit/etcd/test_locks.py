"""Which restic locks are provably stale: restic's own rule, judged before anything is removed."""

from __future__ import annotations

import os
import subprocess

from kubeprimer.etcd.agent.locks import STALE_AFTER_SECONDS, Lock

NOW = 1_800_000_000.0


def _gone_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_a_lock_older_than_restics_bound_is_stale_wherever_it_was_made() -> None:
    old = Lock("a1", NOW - STALE_AFTER_SECONDS - 1, True, "elsewhere", os.getpid())
    assert old.stale(NOW, "here")


def test_a_recent_lock_from_another_host_is_not_judged_stale() -> None:
    recent = Lock("a2", NOW - 60, True, "elsewhere", _gone_pid())
    assert not recent.stale(NOW, "here")
    assert "'kubeprimer-etcd-backup unlock' as root on elsewhere" in recent.advice()


def test_on_this_host_a_gone_process_makes_it_stale_a_live_one_does_not() -> None:
    assert Lock("a3", NOW - 60, True, "here", _gone_pid()).stale(NOW, "here")
    assert not Lock("a4", NOW - 60, True, "here", os.getpid()).stale(NOW, "here")
