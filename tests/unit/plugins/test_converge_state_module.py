"""plugins/modules/converge_state.py: what it observes, records and reports as drifted."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.unit.plugins.loader import load

cs = load("modules/converge_state.py")


def test_a_file_is_observed_by_content_mode_and_owner(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    assert cs.observe_file(str(target)) == "absent"
    target.write_text("a = 1\n")
    first = cs.observe_file(str(target))
    target.chmod(0o600)
    assert cs.observe_file(str(target)) != first
    target.write_text("a = 2\n")
    assert cs.observe_file(str(target)).startswith(f"file {os.getuid()}:{os.getgid()} 600 ")
    assert cs.observe_file(str(tmp_path)).startswith("dir ")


def test_a_probe_command_is_observed_by_exit_status_and_output() -> None:
    echo = "probe:" + json.dumps({"args": ["echo", "on"], "shell": False, "chdir": None})
    fails = "probe:" + json.dumps({"args": "exit 3", "shell": True, "chdir": None})
    seen = cs.observe([echo, fails])
    assert seen[echo].startswith("rc 0 out ")
    assert seen[fails].startswith("rc 3 out ")


def test_unknown_kinds_are_never_taken_as_unchanged() -> None:
    assert cs.observe(["gadget:x"]) == {"gadget:x": "unknown kind"}


def test_a_recorded_stage_holds_until_a_resource_or_the_fingerprint_changes(
    tmp_path: Path,
) -> None:
    state, managed = str(tmp_path / "state"), tmp_path / "hosts"
    managed.write_text("10.0.0.1 node-1\n")
    resources = [f"file:{managed}"]
    assert cs.why_pending(state, "nodes", "f1") == "no record of a completed run"
    assert cs.record(state, "nodes", "f1", resources) is True
    assert cs.record(state, "nodes", "f1", resources) is False
    assert cs.why_pending(state, "nodes", "f1") is None
    assert cs.why_pending(state, "nodes", "f2") == "roles, playbook or inventory changed"
    managed.write_text("10.0.0.9 node-1\n")
    assert cs.why_pending(state, "nodes", "f1") == f"changed on the host: file:{managed}"


def test_records_are_readable_by_root_only(tmp_path: Path) -> None:
    state = tmp_path / "state"
    cs.record(str(state), "nodes", "f1", [])
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "nodes.json").stat().st_mode) == 0o600


def test_a_corrupt_record_means_the_stage_runs(tmp_path: Path) -> None:
    (tmp_path / "nodes.json").write_text("{not json")
    assert cs.why_pending(str(tmp_path), "nodes", "f1") == "no record of a completed run"


def test_the_probe_tells_drift_from_stages_that_never_completed(tmp_path: Path) -> None:
    state, managed = str(tmp_path / "state"), tmp_path / "hosts"
    managed.write_text("10.0.0.1 node-1\n")
    cs.record(state, "nodes", "f1", [f"file:{managed}"])
    assert cs.probe(state, ["nodes", "kube_artifacts"], "f1", False) == (
        {"kube_artifacts": "no record of a completed run"},
        {},
    )
    managed.write_text("10.0.0.9 node-1\n")
    drift = {"nodes": f"changed on the host: file:{managed}"}
    assert cs.probe(state, ["nodes"], "f1", True) == (drift, drift)
    assert Path(cs.record_path(state, "nodes")).exists()
    cs.probe(state, ["nodes"], "f1", False)
    assert not Path(cs.record_path(state, "nodes")).exists()


def test_a_drifted_probe_is_named_by_its_command_line(tmp_path: Path) -> None:
    state, flag = str(tmp_path / "state"), tmp_path / "flag"
    flag.write_text("on")
    check = "probe:" + json.dumps({"args": ["cat", str(flag)], "shell": False, "chdir": None})
    cs.record(state, "nodes", "f1", [check])
    flag.write_text("off")
    assert cs.why_pending(state, "nodes", "f1") == f"changed on the host: command: cat {flag}"
