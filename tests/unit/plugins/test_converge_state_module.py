"""plugins/modules/converge_state.py: what it observes, records and reports as drifted."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest
import yaml

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
    echo, fails = ["echo", "on"], ["sh", "-c", "exit 3"]
    seen = cs.observe(cs.resources([{"probes": [echo, fails]}]))
    assert seen["probe:" + json.dumps(echo)].startswith("rc 0 out ")
    assert seen["probe:" + json.dumps(fails)].startswith("rc 3 out ")
    assert cs.observe_probe(json.dumps(["/nonexistent/check"])).startswith("cannot run: ")


def test_a_sysctl_is_observed_by_its_value() -> None:
    assert cs.observe_sysctl("kernel.ostype") == "Linux"
    assert cs.observe_sysctl("kernel.no_such_parameter") == "absent"


def test_unknown_kinds_are_never_taken_as_unchanged() -> None:
    assert cs.observe(["gadget:x"]) == {"gadget:x": "unknown kind"}


def test_declarations_are_typed() -> None:
    with pytest.raises(cs.DeclarationError, match="unknown kinds"):
        cs.resources([{"file": ["/etc/hosts"]}])
    with pytest.raises(cs.DeclarationError, match="packages must be a list"):
        cs.resources([{"packages": "haproxy"}])
    with pytest.raises(cs.DeclarationError, match="argument list"):
        cs.resources([{"probes": ["swapon --show"]}])


def test_every_kind_of_declaration_becomes_resources(tmp_path: Path) -> None:
    declared = {
        "files": [
            "/etc/hosts",
            {"path": "/etc/certs.d/{item}/hosts.toml", "for_each": ["a.io", "b.io"]},
            {"dests_of": {"kubeadm": {"url": "https://x/kubeadm", "dest": "/usr/bin/kubeadm"}}},
        ],
        "packages": ["haproxy"],
        "units": ["haproxy"],
        "kernel_modules": ["overlay"],
        "sysctls": ["net.ipv4.ip_forward"],
        "users": ["keepalived_script"],
        "unrecorded": {"Remove old mirrors": "found at run time"},
    }
    assert cs.resources([declared]) == [
        "file:/etc/certs.d/a.io/hosts.toml",
        "file:/etc/certs.d/b.io/hosts.toml",
        "file:/etc/hosts",
        "file:/usr/bin/kubeadm",
        "kmod:overlay",
        "package:haproxy",
        "sysctl:net.ipv4.ip_forward",
        "unit:haproxy",
        "user:keepalived_script",
    ]


def _archive(path: Path, names: list[str]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = len(name)
            tar.addfile(info, io.BytesIO(name.encode()))


def test_an_unpacked_archive_is_its_files_one_by_one(tmp_path: Path) -> None:
    archive = tmp_path / "cni.tgz"
    _archive(archive, ["./bridge", "./host-local", "LICENSE"])
    entry = {"path": "/opt/cni/bin", "unpacked_from": str(archive)}
    assert cs.file_paths(entry) == [
        "/opt/cni/bin",
        "/opt/cni/bin/LICENSE",
        "/opt/cni/bin/bridge",
        "/opt/cni/bin/host-local",
    ]
    assert cs.file_paths({**entry, "include": ["bridge"]}) == [
        "/opt/cni/bin",
        "/opt/cni/bin/bridge",
    ]
    # Before the archive is there (the stage failed), the folder alone is recorded.
    assert cs.file_paths({**entry, "unpacked_from": str(tmp_path / "none.tgz")}) == ["/opt/cni/bin"]


def test_deleting_one_unpacked_binary_is_drift(tmp_path: Path) -> None:
    archive, folder, state = tmp_path / "cni.tgz", tmp_path / "bin", str(tmp_path / "state")
    _archive(archive, ["./bridge", "./portmap"])
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    declared = [{"files": [{"path": str(folder), "unpacked_from": str(archive)}]}]
    cs.record(state, "kube_artifacts", "f1", cs.resources(declared))
    assert cs.why_pending(state, "kube_artifacts", "f1") is None
    (folder / "portmap").unlink()
    assert cs.why_pending(state, "kube_artifacts", "f1") == (
        f"changed on the host: file:{folder}/portmap"
    )


def test_a_recorded_stage_holds_until_a_resource_or_the_fingerprint_changes(
    tmp_path: Path,
) -> None:
    state, managed = str(tmp_path / "state"), tmp_path / "hosts"
    managed.write_text("10.0.0.1 node-1\n")
    keys = cs.resources([{"files": [str(managed)]}])
    assert cs.why_pending(state, "nodes", "f1") == "no record of a completed run"
    assert cs.record(state, "nodes", "f1", keys) == 1
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
    cs.record(state, "nodes", "f1", cs.resources([{"probes": [["cat", str(flag)]]}]))
    flag.write_text("off")
    assert cs.why_pending(state, "nodes", "f1") == f"changed on the host: command: cat {flag}"


def test_the_documentation_parses_as_ansible_doc_reads_it() -> None:
    doc = yaml.safe_load(cs.DOCUMENTATION)
    assert set(doc["options"]) == {"record", "probe", "declared", "fingerprint", "state_dir"}
    assert set(yaml.safe_load(cs.RETURN)) == {"pending", "drifted", "held", "recorded"}
