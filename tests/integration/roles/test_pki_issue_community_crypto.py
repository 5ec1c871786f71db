"""roles/pki on this machine with the real community.crypto modules and openssl: the CA,
a host certificate with SANs, idempotence, re-issue on change and renewal, and bad input."""

from __future__ import annotations

import getpass
import grp
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.roles.localplay import changed, run_role

pytestmark = pytest.mark.integration


def _settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return {
        "pki_dir": str(tmp_path / "pki"),
        "pki_cert_name": "etcd-member",
        "pki_cert_dns_names": ["node1", "localhost"],
        "pki_cert_ip_addresses": ["192.0.2.11"],
        "pki_cert_dest_dir": str(tmp_path / "host"),
        "pki_cert_owner": getpass.getuser(),
        "pki_cert_group": grp.getgrgid(os.getgid()).gr_name,
        **overrides,
    }


def _issue(tmp_path: Path, **overrides: Any) -> subprocess.CompletedProcess[str]:
    return run_role(tmp_path, "pki", ["issue"], _settings(tmp_path, **overrides))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _text(cert: Path) -> str:
    return subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(cert)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_issues_a_certificate_with_sans_that_chains_to_the_ca(tmp_path: Path) -> None:
    first = _issue(tmp_path)
    assert first.returncode == 0, first.stdout
    host = tmp_path / "host"
    assert sorted(p.name for p in host.iterdir()) == [
        "ca.crt",
        "etcd-member.crt",
        "etcd-member.key",
    ]
    assert {_mode(p) for p in host.iterdir()} == {0o600}
    assert _mode(host) == 0o700 and _mode(tmp_path / "pki") == 0o700
    assert _mode(tmp_path / "pki" / "ca.key") == 0o600
    text = _text(host / "etcd-member.crt")
    assert "DNS:node1, DNS:localhost, IP Address:192.0.2.11" in text
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in text
    verify = ["openssl", "verify", "-CAfile", str(host / "ca.crt"), str(host / "etcd-member.crt")]
    subprocess.run(verify, check=True, capture_output=True)

    second = _issue(tmp_path)
    assert second.returncode == 0, second.stdout
    assert changed(second) == 0


def test_a_new_san_reissues_the_certificate_but_keeps_key_and_ca(tmp_path: Path) -> None:
    assert _issue(tmp_path).returncode == 0
    host = tmp_path / "host"
    before = {p.name: p.read_bytes() for p in host.iterdir()}
    again = _issue(tmp_path, pki_cert_ip_addresses=["192.0.2.11", "198.51.100.7"])
    assert again.returncode == 0, again.stdout
    after = {p.name: p.read_bytes() for p in host.iterdir()}
    assert after["etcd-member.crt"] != before["etcd-member.crt"]
    assert after["etcd-member.key"] == before["etcd-member.key"]
    assert after["ca.crt"] == before["ca.crt"]
    assert "IP Address:198.51.100.7" in _text(host / "etcd-member.crt")


def test_a_certificate_inside_its_renewal_window_is_issued_again(tmp_path: Path) -> None:
    # Valid for 10 days, renewed when fewer than 20 remain: every run renews it.
    short = {"pki_cert_valid_days": 10, "pki_cert_renew_days": 20}
    assert _issue(tmp_path, **short).returncode == 0
    cert = tmp_path / "host" / "etcd-member.crt"
    before = cert.read_bytes()
    renewed = _issue(tmp_path, **short)
    assert renewed.returncode == 0, renewed.stdout
    assert cert.read_bytes() != before


def test_a_bad_certificate_name_stops_before_anything_is_written(tmp_path: Path) -> None:
    result = _issue(tmp_path, pki_cert_name="../etc/passwd")
    assert result.returncode != 0
    assert "set pki_cert_name to a plain file name other than 'ca'" in result.stdout
    assert not (tmp_path / "host").exists()
    assert not (tmp_path / "pki").exists()
