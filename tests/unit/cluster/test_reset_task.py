"""cluster.reset as users run it (the invoke program), with clearly named test doubles
of the playbook run (``FakeRun``: records each run and answers with the recap it is
given), of the SSH probe (``fake_probe``: the hosts given do not answer) and of the
etcd backup and drill. Refusals provably reach no host; the hosts'
side is tested on lab nodes in tests/integration/cluster/test_reset_lab_nodes.py."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from invoke import Exit

from kubeprimer import ansible
from kubeprimer.ansible import RunResult
from kubeprimer.confirm import confirm
from kubeprimer.errors import UserError
from kubeprimer.tasks import _common, etcd
from kubeprimer.upgrade import remote
from tests.unit.cluster.test_remove_refusals import EXTERNAL, _invoke, write_inventory

SMALL = {"kube_control_plane": ["cp1"], "kube_node": ["w1"], "etcd": ["cp1"]}


class FakeRun:
    """Test double of run_playbook: records (playbook, limit, extravars) and returns the
    recap given (every host changed once unless told)."""

    def __init__(self, stats: dict[str, dict[str, int]] | None = None, code: int = 0) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.stats, self.code = stats, code

    def __call__(self, playbook: str, inventory: Path, **options: Any) -> RunResult:
        self.calls.append((playbook, options["limit"], options["extravars"]))
        hosts = options["limit"].split(",")
        stats = self.stats if self.stats is not None else {h: {"changed": 1} for h in hosts}
        return RunResult(self.code, inventory.parent, stats, [])


def fake_probe(
    monkeypatch: pytest.MonkeyPatch, dead: set[str], wiped: frozenset[str] = frozenset()
) -> None:
    """Test double of remote.run: every host answers but those in ``dead``; asked as
    members_probe.py, a host holds etcd data unless it is in ``wiped``, and etcd answers
    with a healthy member per host holding data."""

    def run(inv: Any, hosts: list[str], command: str, *_: Any, **__: Any) -> dict[str, Any]:
        live = [h for h in hosts if h not in dead and h not in wiped]
        members = [{"name": h, "clientURLs": [f"https://{h}:2379"]} for h in live]
        health = {f"https://{h}:2379": len(live) * 2 > len(hosts) for h in live}
        return {
            h: remote.Answer(
                h not in dead,
                json.dumps({"data": h not in wiped, "members": members, "health": health}),
                "unreachable over SSH",
            )
            for h in hosts
        }

    monkeypatch.setattr(remote, "run", run)


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> FakeRun:
    run = FakeRun()
    monkeypatch.setattr(_common, "run_playbook", run)
    fake_probe(monkeypatch, set())
    return run


def _kubeconfig(inventory: Path) -> Path:
    path = inventory.parent / "artifacts" / "admin.conf"
    path.parent.mkdir()
    path.write_text("apiVersion: v1\n")
    return path


def _reset(inventory: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = _invoke("cluster.reset", "-i", str(inventory), *args)
    said = capsys.readouterr()
    return code, said.out, said.err


def test_without_a_terminal_or_yes_nothing_is_touched(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_run: FakeRun,
) -> None:
    inventory = write_inventory(tmp_path, SMALL)
    kubeconfig = _kubeconfig(inventory)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    monkeypatch.setattr(remote, "run", fake_run)  # asking the hosts would record a call
    code, _, err = _reset(inventory, capsys)
    assert code == 2 and err.count("error:") == 1, err
    assert "cluster.reset tears the cluster down on every host and needs confirmation" in err
    assert fake_run.calls == [] and kubeconfig.is_file()


def test_etcd_without_a_backup_target_is_refused_first(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_run: FakeRun,
) -> None:
    inventory = write_inventory(tmp_path, EXTERNAL, etcd_mode="external")

    def touched(*_: Any, **__: Any) -> Any:
        raise AssertionError("a refused reset took a backup")

    monkeypatch.setattr(etcd, "take_backup", touched)
    code, _, err = _reset(inventory, capsys, "--yes", "--etcd")
    assert code == 2 and "backups are not configured" in err and err.count("error:") == 1, err
    assert fake_run.calls == []


def test_reset_runs_once_on_every_node_and_removes_the_kubeconfig(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_run: FakeRun
) -> None:
    inventory = write_inventory(tmp_path, EXTERNAL, etcd_mode="external")
    kubeconfig = _kubeconfig(inventory)
    code, out, err = _reset(inventory, capsys, "--yes")
    assert code == 0, err
    # Workers are listed before control planes; etcd members are left alone without --etcd.
    assert fake_run.calls == [("reset.yml", "w1,cp1", {"kubeprimer_reset_etcd": False})]
    assert not kubeconfig.exists()
    assert "External etcd keeps running with its data on e1, e2, e3" in out
    assert "cluster.reset --etcd" in out and ".pki stays" in out


def test_a_second_run_says_there_is_nothing_to_reset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_run: FakeRun
) -> None:
    inventory = write_inventory(tmp_path, SMALL)
    fake_run.stats = {"cp1": {"changed": 0, "ok": 5}, "w1": {"changed": 0, "ok": 5}}
    code, out, err = _reset(inventory, capsys, "--yes")
    assert code == 0, err
    assert "Nothing to reset" in out


def test_hosts_that_do_not_answer_are_named_with_exit_3(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_run: FakeRun,
) -> None:
    inventory = write_inventory(tmp_path, SMALL)
    kubeconfig = _kubeconfig(inventory)
    fake_probe(monkeypatch, {"w1"})
    code, out, err = _reset(inventory, capsys, "--yes")
    assert code == 3, err
    # The others are reset; the run's host key check would otherwise stop for all.
    assert fake_run.calls == [("reset.yml", "cp1", {"kubeprimer_reset_etcd": False})]
    assert "did not answer and were not reset: w1" in err and "again" in err
    assert "torn down on 1 hosts" in out
    # Kept until every host is reset: the run that finishes them removes it.
    assert kubeconfig.is_file()


def test_no_run_when_no_host_answers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_run: FakeRun,
) -> None:
    inventory = write_inventory(tmp_path, SMALL)
    fake_probe(monkeypatch, {"w1", "cp1"})
    code, _, err = _reset(inventory, capsys, "--yes")
    assert code == 3 and "not reset: w1, cp1" in err, err
    assert fake_run.calls == []


def test_a_failed_run_ends_with_its_status_and_keeps_the_kubeconfig(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_run: FakeRun
) -> None:
    inventory = write_inventory(tmp_path, SMALL)
    kubeconfig = _kubeconfig(inventory)
    fake_run.code = ansible.EXIT_FAILED
    code, _, err = _reset(inventory, capsys, "--yes")
    assert code == ansible.EXIT_FAILED and "reset.yml did not complete" in err, err
    assert kubeconfig.is_file()


def test_etcd_data_goes_only_after_a_last_backup_and_its_drill(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_run: FakeRun,
) -> None:
    inventory = write_inventory(tmp_path, {**EXTERNAL, "backup": ["e4"]}, etcd_mode="external")
    steps: list[str] = []

    def backup(c: Any, given: str | None, json: bool = False) -> dict[str, Any]:
        assert fake_run.calls == []
        steps.append("backup")
        return {"short_id": "ab12cd34", "id": "ab12cd34ef"}

    def drill(c: Any, chosen: str | None, given: str | None, json: bool = False) -> Any:
        assert fake_run.calls == [] and chosen == "ab12cd34ef"
        steps.append("drill")
        return {"keys": 7, "revision": 42}

    monkeypatch.setattr(etcd, "take_backup", backup)
    monkeypatch.setattr(etcd, "drill", drill)
    code, out, err = _reset(inventory, capsys, "--yes", "--etcd")
    assert code == 0, err
    assert steps == ["backup", "drill"]
    assert fake_run.calls == [("reset.yml", "w1,cp1,e1,e2,e3", {"kubeprimer_reset_etcd": True})]
    assert "Last backup ab12cd34 stored and restores (7 keys at revision 42)" in out
    assert "keeps running" not in out


@pytest.mark.parametrize(
    ("dead", "wiped", "said"),
    [
        (set(), {"e1", "e2", "e3"}, "No etcd member holds data any more"),
        ({"e2"}, {"e1"}, "The etcd data is gone from e1 already"),
    ],
)
def test_no_second_backup_once_an_earlier_run_deleted_the_data(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_run: FakeRun,
    dead: set[str],
    wiped: set[str],
    said: str,
) -> None:
    """A run after one that took the last backup and wiped all members, or all but one
    that was down then: the data left cannot be backed up without a quorum, and the
    backup it would repeat was taken already."""
    inventory = write_inventory(tmp_path, {**EXTERNAL, "backup": ["e4"]}, etcd_mode="external")

    def touched(*_: Any, **__: Any) -> Any:
        raise AssertionError("a backup was taken again")

    monkeypatch.setattr(etcd, "take_backup", touched)
    fake_probe(monkeypatch, dead, frozenset(wiped))
    code, out, err = _reset(inventory, capsys, "--yes", "--etcd")
    assert code == (3 if dead else 0), err
    assert said in out
    live = ",".join(h for h in ["w1", "cp1", "e1", "e2", "e3"] if h not in dead)
    assert fake_run.calls == [("reset.yml", live, {"kubeprimer_reset_etcd": True})]


# A member host never set up (no data) beside a healthy quorum: the data is there.
@pytest.mark.parametrize("wiped", [frozenset(), frozenset({"e3"})])
def test_a_backup_that_stores_nothing_resets_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_run: FakeRun,
    wiped: frozenset[str],
) -> None:
    inventory = write_inventory(tmp_path, {**EXTERNAL, "backup": ["e4"]}, etcd_mode="external")
    monkeypatch.setattr(etcd, "take_backup", lambda *_, **__: None)
    fake_probe(monkeypatch, set(), wiped)
    code, _, err = _reset(inventory, capsys, "--yes", "--etcd")
    assert code == 1 and "stored no backup, so nothing was reset" in err, err
    assert fake_run.calls == []


def test_a_failed_backup_run_says_nothing_was_reset(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_run: FakeRun,
) -> None:
    inventory = write_inventory(tmp_path, {**EXTERNAL, "backup": ["e4"]}, etcd_mode="external")

    def failed(*_: Any, **__: Any) -> Any:
        raise Exit("etcd_backup.yml did not complete; the failing tasks are listed above.", 1)

    monkeypatch.setattr(etcd, "take_backup", failed)
    code, _, err = _reset(inventory, capsys, "--yes", "--etcd")
    assert code == 1 and err.count("error:") <= 1, err
    assert "The last etcd backup did not complete, so nothing was reset: etcd_backup.yml" in err
    assert fake_run.calls == []


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("typed", "goes_on"), [("yes\n", True), ("y\n", False), ("\n", False)])
def test_the_question_takes_only_yes(typed: str, goes_on: bool) -> None:
    shown = io.StringIO()
    ask = {"needs": "x", "question": "Tear down cluster k on 2 hosts?", "stdout": shown}
    if goes_on:
        confirm(False, stdin=_Terminal(typed), **ask)  # type: ignore[arg-type]
    else:
        with pytest.raises(UserError, match="Not confirmed, so nothing was changed"):
            confirm(False, stdin=_Terminal(typed), **ask)  # type: ignore[arg-type]
    assert shown.getvalue() == "Tear down cluster k on 2 hosts? Type yes to go on: "
