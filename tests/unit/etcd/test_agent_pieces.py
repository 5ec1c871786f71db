"""The agent's pure parts: restic messages, settings, metrics, member matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubeprimer.etcd.agent import config, health, metrics, restic
from kubeprimer.etcd.agent.restore import this_member
from kubeprimer.etcd.agent.run import BAD_INPUT, AgentError
from kubeprimer.etcd.report import backups_table, human_size
from tests.unit.etcd.samples import LISTED_BACKUP

REPO = "sftp:backup@10.0.0.9:/srv/etcd"


@pytest.mark.parametrize(
    ("stderr", "code", "expected"),
    [
        ("Fatal: wrong password or no key found", 1, "with the configured password"),
        ("", 12, "with the configured password"),
        (
            "unable to create lock in backend: repository is already locked by PID 7",
            1,
            "holds a lock",
        ),
        ("", 11, "kubeprimer-etcd-backup unlock"),
        (
            "Fatal: unable to open config file: Is there a repository at the following location?",
            1,
            "there is no restic repository",
        ),
        ("", 10, "there is no restic repository"),
        ("ssh: connect to host 10.0.0.9 port 22: Connection refused", 1, "cannot be reached"),
        (
            # restic 0.14 on an S3 endpoint that is down: the question is not the answer.
            'Fatal: unable to open config file: Stat: Get "http://10.0.0.9:9000/b/?location=": '
            "dial tcp 10.0.0.9:9000: connect: connection refused\n"
            "Is there a repository at the following location?\ns3:http://10.0.0.9:9000/b/etcd",
            1,
            "cannot be reached (Fatal: unable to open config file",
        ),
        (
            "Fatal: create repository at s3:http://10.0.0.9:9000/b/etcd failed: client.BucketExists:"
            " The Access Key Id you provided does not exist in our records.",
            1,
            "refused the S3 keys",
        ),
        (
            'Fatal: failed to find snapshot: no matching ID found for prefix "ab"',
            1,
            "does not exist",
        ),
        ("Fatal: repository contains errors", 1, "is damaged"),
        ("something new", 1, "restic failed: something new"),
    ],
)
def test_restic_failures_become_one_sentence(stderr: str, code: int, expected: str) -> None:
    assert expected in restic.explain(stderr, code, REPO)


def test_restic_time_with_nanoseconds_and_offsets() -> None:
    utc = restic.parse_time("2026-01-02T03:04:05.123456789Z")
    other = restic.parse_time("2026-01-02T04:04:05.123456789+01:00")
    assert utc == pytest.approx(other)


def _write(tmp_path: Path, **values: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(values))
    return path


def test_config_names_every_missing_setting(tmp_path: Path) -> None:
    with pytest.raises(AgentError) as raised:
        config.load(_write(tmp_path, endpoints=[], keep={"yearly": 1}))
    message = str(raised.value)
    assert raised.value.code == BAD_INPUT
    for word in ("endpoints", "repository", "password_file", "yearly"):
        assert word in message


def test_config_schedule_file_overrides_retention(tmp_path: Path) -> None:
    path = _write(tmp_path, endpoints=["https://a:2379"], repository=REPO, password_file="/p")
    (tmp_path / config.SCHEDULE_NAME).write_text(json.dumps({"keep": {"daily": 3}}))
    loaded = config.load(path)
    assert loaded.keep == {"daily": 3}
    assert loaded.textfile_dir is None and loaded.password_file == Path("/p")


def test_password_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("x")
    secret.chmod(0o644)
    with pytest.raises(AgentError, match="chmod 600"):
        config.check_private(secret)
    secret.chmod(0o600)
    config.check_private(secret)


def test_metrics_keep_the_last_success_after_a_failure(tmp_path: Path) -> None:
    metrics.write(
        tmp_path,
        "m1",
        {"last_success_timestamp_seconds": 1000.0, "last_success": 1, "size_bytes": 2048.0},
    )
    metrics.write(tmp_path, "m1", {"last_attempt_timestamp_seconds": 2000.0, "last_success": 0})
    text = (tmp_path / metrics.FILE_NAME).read_text()
    assert 'kubeprimer_etcd_backup_last_success_timestamp_seconds{host="m1"} 1000' in text
    assert 'kubeprimer_etcd_backup_last_success{host="m1"} 0' in text
    assert "# TYPE kubeprimer_etcd_backup_size_bytes gauge" in text
    assert oct((tmp_path / metrics.FILE_NAME).stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] == [metrics.FILE_NAME]


MANIFEST = {
    "members": [
        {"name": "cp1", "peer_urls": ["https://10.0.0.1:2380"], "client_urls": []},
        {"name": "cp2", "peer_urls": ["https://10.0.0.2:2380"], "client_urls": []},
    ]
}


def test_member_chosen_by_name() -> None:
    assert this_member(MANIFEST, "cp2")["name"] == "cp2"


def test_unknown_member_asks_for_its_name() -> None:
    with pytest.raises(AgentError, match="etcd_backup_member_name"):
        this_member(MANIFEST, "cp9")


def test_list_table_and_sizes() -> None:
    assert human_size(512) == "512 B"
    assert human_size(200 * 1024 * 1024) == "200.0 MiB"
    table = backups_table([LISTED_BACKUP])
    assert len(table.rows) == 1


def test_health_lines_say_a_failed_check_in_words() -> None:
    from kubeprimer.etcd.report import health_lines

    lines = health_lines(
        {"check": {"ok": False, "at": 1_800_000_000, "error": "the repository is damaged"}},
        " --inventory inv/prod",
    )
    assert lines[0].startswith("Repository check: FAILED at ")
    assert lines[0].endswith("the repository is damaged")
    # The suggested command works as written: --drill needs a calendar, schedule --inventory.
    assert lines[1] == (
        "Restore drill: never run on this member; schedule it with "
        "'invoke etcd.schedule --drill weekly --inventory inv/prod'."
    )


@pytest.mark.parametrize("subset", ["0%", "0.0%", "5/3", "0/1", "101%", "all; reboot"])
def test_a_check_with_a_subset_restic_refuses_is_bad_input_and_records_nothing(
    tmp_path: Path, subset: str
) -> None:
    settings = config.Config(
        endpoints=["https://127.0.0.1:2379"],
        repository=str(tmp_path / "repo"),
        password_file=tmp_path / "password",
        state_dir=tmp_path / "state",
        textfile_dir=tmp_path / "textfile",
    )

    with pytest.raises(AgentError) as raised:
        health.check(settings, lambda _line: None, subset)

    assert raised.value.code == BAD_INPUT
    # Not a failed check: no record, no metric, so no alert and backups go on.
    assert health.last(settings, health.CHECK) is None
    assert not (tmp_path / "textfile").exists()


def test_the_s3_key_file_hands_restic_only_s3_keys(tmp_path: Path) -> None:
    """A key with a newline in it would otherwise give restic any variable (LD_PRELOAD)."""
    env_file = tmp_path / "restic.env"
    env_file.write_text("AWS_ACCESS_KEY_ID=id\nAWS_SECRET_ACCESS_KEY=s3cr3t\nLD_PRELOAD=/x.so\n")

    with pytest.raises(AgentError) as raised:
        config.read_env_file(env_file)

    assert raised.value.code == BAD_INPUT
    assert "s3cr3t" not in str(raised.value) and "re-apply the role" in str(raised.value)
    env_file.write_text("# managed\nAWS_ACCESS_KEY_ID=id\nAWS_SECRET_ACCESS_KEY=s3cr3t\n")
    assert config.read_env_file(env_file) == {
        "AWS_ACCESS_KEY_ID": "id",
        "AWS_SECRET_ACCESS_KEY": "s3cr3t",
    }


def test_an_s3_key_file_that_is_not_utf8_is_one_sentence(tmp_path: Path) -> None:
    env_file = tmp_path / "restic.env"
    env_file.write_bytes(b"AWS_ACCESS_KEY_ID=id\nAWS_SECRET_ACCESS_KEY=s3\xe9cret\n")

    with pytest.raises(AgentError) as raised:
        config.read_env_file(env_file)

    assert raised.value.code == BAD_INPUT
    assert "is not UTF-8 text" in str(raised.value)
