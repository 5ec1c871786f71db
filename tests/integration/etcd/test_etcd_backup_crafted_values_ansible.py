"""A crafted backup host address stops the etcd_backup role and the etcd tasks before
anything runs (ansible-playbook on this machine, in check mode and for real; the invoke task)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ROOT
from tests.integration.roles.localplay import changed, run_role

pytestmark = pytest.mark.integration


def _role_refuses(tmp_path: Path, check: bool, setting: str, value: str, *said: str) -> None:
    """The role stops at its preflight: nothing changed, nothing installed, nothing ran."""
    pwned = tmp_path / "pwned"
    settings = {
        setting: value.format(pwned=pwned),
        "etcd_backup_credentials_dir": str(tmp_path / "credentials"),
    }

    result = run_role(
        tmp_path,
        "etcd_backup",
        ["main"],
        settings,
        {"etcd": ["localhost"], "backup": ["b1"]},
        check,
    )

    assert result.returncode != 0
    assert all(text in result.stdout for text in said), result.stdout
    assert changed(result) == 0
    assert "Install restic" not in result.stdout
    assert not pwned.exists() and not (tmp_path / "credentials").exists()


@pytest.mark.parametrize("check", [True, False], ids=["check-mode", "for-real"])
def test_the_role_refuses_a_crafted_sftp_address(tmp_path: Path, check: bool) -> None:
    _role_refuses(
        tmp_path,
        check,
        "etcd_backup_sftp_address",
        "host; touch {pwned}",
        "etcd_backup_sftp_address (host; touch",
        "must be a host name or an IPv4 address",
    )


def test_the_etcd_tasks_refuse_it_with_status_2(tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    inventory = {
        "all": {
            "vars": {"etcd_backup_sftp_address": f"host; touch {pwned}"},
            "children": {
                "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "192.0.2.10"}}},
                "backup": {"hosts": {"b1": {"ansible_host": "192.0.2.20"}}},
            },
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    invoke = str(Path(sys.executable).with_name("invoke"))

    for task in (["etcd.schedule", "--inventory"], ["etcd.list", "-i"]):
        done = subprocess.run(
            [invoke, *task, str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

        assert done.returncode == 2, done.stdout + done.stderr
        assert "etcd_backup_sftp_address 'host; touch" in done.stderr
        assert "Traceback" not in done.stderr
        assert "PLAY" not in done.stdout
    assert not pwned.exists()


@pytest.mark.parametrize("check", [True, False], ids=["check-mode", "for-real"])
def test_the_role_refuses_a_folder_that_would_add_lines_to_its_units(
    tmp_path: Path, check: bool
) -> None:
    """etcd_backup_textfile_dir goes into the services' ReadWritePaths= line: a newline
    in it would add ExecStartPre= to a unit that runs as root."""
    _role_refuses(
        tmp_path,
        check,
        "etcd_backup_textfile_dir",
        "/var/lib/node-exporter\nExecStartPre=/bin/touch {pwned}",
        "etcd_backup_textfile_dir",
        "absolute path",
    )


@pytest.mark.parametrize("subset", ["0%", "5/3"])
def test_the_role_refuses_a_subset_restic_refuses(tmp_path: Path, subset: str) -> None:
    """Without the role's check, every scheduled check would fail on the hosts."""
    _role_refuses(
        tmp_path,
        True,
        "etcd_backup_check_read_data_subset",
        subset,
        f"etcd_backup_check_read_data_subset '{subset}' is not a subset restic reads",
    )
