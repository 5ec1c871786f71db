"""etcd.* task options: every mistake is one sentence before any host is touched."""

from __future__ import annotations

import io
import shutil

import pytest

from kubeprimer.errors import UserError
from kubeprimer.etcd.options import confirm_restore, schedule_vars, snapshot_id

NO_KEEP: dict[str, str | int | None] = {
    k: None for k in ("last", "hourly", "daily", "weekly", "monthly")
}


def test_snapshot_id_accepts_short_and_full_ids() -> None:
    assert snapshot_id("1A2B3C4D", required=True) == "1a2b3c4d"
    assert snapshot_id("", required=False) == ""


@pytest.mark.parametrize("bad", ["latest; rm -rf /", "xyz", "12", "g" * 8])
def test_snapshot_id_rejects_what_is_not_an_id(bad: str) -> None:
    with pytest.raises(UserError, match="is not a backup ID"):
        snapshot_id(bad, required=True)


def test_restore_needs_an_id() -> None:
    with pytest.raises(UserError, match="--snapshot ID"):
        snapshot_id(None, required=True)


def test_schedule_passes_only_what_was_given() -> None:
    got = schedule_vars("daily", {**NO_KEEP, "daily": 14, "weekly": 8}, disable=False)
    assert got == {
        "etcd_backup_schedule_enabled": True,
        "etcd_backup_on_calendar": "daily",
        "etcd_backup_keep_daily": 14,
        "etcd_backup_keep_weekly": 8,
    }


def test_schedule_disable_alone() -> None:
    assert schedule_vars(None, NO_KEEP, disable=True) == {"etcd_backup_schedule_enabled": False}
    with pytest.raises(UserError, match="--disable"):
        schedule_vars("daily", NO_KEEP, disable=True)


def test_schedule_reports_every_problem_at_once() -> None:
    with pytest.raises(UserError) as raised:
        schedule_vars("daily; reboot", {**NO_KEEP, "daily": -1}, disable=False)
    assert len(raised.value.messages) == 2


def test_schedule_takes_counts_as_invoke_passes_them() -> None:
    got = schedule_vars(None, {**NO_KEEP, "daily": "14"}, disable=False)
    assert got["etcd_backup_keep_daily"] == 14
    with pytest.raises(UserError, match="whole number"):
        schedule_vars(None, {**NO_KEEP, "daily": "many"}, disable=False)


def test_schedule_refuses_keeping_nothing() -> None:
    with pytest.raises(UserError, match="Keep at least one"):
        schedule_vars(None, {k: 0 for k in NO_KEEP}, disable=False)


def test_restore_without_a_terminal_or_yes_refuses_in_one_sentence() -> None:
    with pytest.raises(UserError) as raised:
        confirm_restore("1a2b3c4d", yes=False, stdin=io.StringIO(""))
    assert raised.value.messages == [
        "etcd.restore replaces all cluster state and needs confirmation: run it in a "
        "terminal, or add --yes."
    ]


def test_restore_with_yes_does_not_ask() -> None:
    confirm_restore("1a2b3c4d", yes=True, stdin=io.StringIO(""))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_restore_asks_for_the_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", lambda _prompt: "1a2b3c4d")
    confirm_restore("1a2b3c4d", yes=False, stdin=_Tty())
    monkeypatch.setattr("builtins.input", lambda _prompt: "yes")
    with pytest.raises(UserError, match="does not match"):
        confirm_restore("1a2b3c4d", yes=False, stdin=_Tty())


def test_schedule_sets_checks_and_drills_and_turns_them_off() -> None:
    jobs = {"check": "daily", "drill": "off", "check_subset": "1/7"}
    got = schedule_vars(None, NO_KEEP, disable=False, jobs=jobs)
    assert got == {
        "etcd_backup_schedule_enabled": True,
        "etcd_backup_check_on_calendar": "daily",
        "etcd_backup_drill_on_calendar": "",
        "etcd_backup_check_read_data_subset": "1/7",
    }


def test_schedule_refuses_a_bad_check_drill_or_subset_in_one_round() -> None:
    jobs = {"check": "daily; reboot", "drill": "weekly", "check_subset": "all"}
    with pytest.raises(UserError) as raised:
        schedule_vars(None, NO_KEEP, disable=False, jobs=jobs)
    assert len(raised.value.messages) == 2
    assert raised.value.messages[0].startswith("--check 'daily; reboot' is not")
    assert raised.value.messages[1].startswith("--check-subset 'all' is not")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("calendar", ["every minute", "sometimes", "daily daily"])
def test_schedule_refuses_a_calendar_systemd_cannot_read(calendar: str) -> None:
    with pytest.raises(UserError) as raised:
        schedule_vars(calendar, NO_KEEP, disable=False)
    assert raised.value.messages[0].startswith(f"--every {calendar!r} is not a systemd calendar")


@pytest.mark.parametrize("subset", ["0%", "0.0%", "5/3", "0/0", "-1", "150%", "100.5%", "1/0"])
def test_schedule_refuses_a_subset_restic_refuses(subset: str) -> None:
    with pytest.raises(UserError, match="--check-subset"):
        schedule_vars(None, NO_KEEP, disable=False, jobs={"check_subset": subset})


@pytest.mark.parametrize("subset", ["0.5%", "10%", "100%", "100.0%", "1/7", "7/7"])
def test_schedule_takes_every_subset_restic_reads(subset: str) -> None:
    got = schedule_vars(None, NO_KEEP, disable=False, jobs={"check_subset": subset})
    assert got["etcd_backup_check_read_data_subset"] == subset


def test_every_off_points_to_disable() -> None:
    """'off' turns a check or drill off; the backups themselves stop with --disable."""
    with pytest.raises(UserError) as raised:
        schedule_vars("off", NO_KEEP, disable=False)
    assert raised.value.messages == [
        "--every 'off' is not a systemd calendar expression; use e.g. hourly, daily, weekly or "
        "'*-*-* 00/6:00:00' (to stop the backups, use --disable)."
    ]


@pytest.mark.parametrize("count", ["²", "٣", "1" * 20, "-1", "1.5", " "])
def test_a_count_that_is_no_plain_whole_number_is_one_sentence(count: str) -> None:
    with pytest.raises(UserError) as raised:
        schedule_vars(None, {**NO_KEEP, "last": count}, disable=False)
    assert raised.value.messages[0].startswith("--keep-last must be a whole number")
