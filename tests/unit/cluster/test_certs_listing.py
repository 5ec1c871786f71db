"""cluster.certs: the table, --json and the exit statuses, from certificates generated here.

The SSH fan-out is replaced by a clearly named test double (``fake_read_hosts``) that
hands the task what the real host probe (kubeprimer/cluster/certs_probe.py, run here on
files written the way kubeadm, kubelet and the roles write them) reads on each host; the
probe over SSH on lab nodes is in tests/integration/cluster/test_certs_renew_fake_kubeadm.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from invoke import Program

from kubeprimer.cluster import certs, certs_probe
from kubeprimer.cluster.certs_catalog import Wanted
from kubeprimer.inventory import load
from kubeprimer.preflight.remote import Gathered
from kubeprimer.tasks import ns

NOW = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
KEY = ec.generate_private_key(ec.SECP256R1())


def name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def issue(common: str, days: float, issuer: str = "kubernetes") -> str:
    """A PEM certificate for ``common`` that expires ``days`` after NOW."""
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(common))
        .issuer_name(name(issuer))
        .public_key(KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=300))
        .not_valid_after(NOW + timedelta(days=days))
        .sign(KEY, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


KEY_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


def kubeconfig(cert: str) -> str:
    user = {
        "client-certificate-data": base64.b64encode(cert.encode()).decode(),
        "client-key-data": base64.b64encode(KEY_PEM.encode()).decode(),
    }
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Config", "users": [{"name": "admin", "user": user}]}
    )


# What each host holds, by the path the catalogue reads; kubeconfigs and kubelet's
# *-current.pem carry a private key beside the certificate, as the real ones do.
CP1 = {
    "/etc/kubernetes/pki/apiserver.crt": issue("kube-apiserver", 364.5),
    "/etc/kubernetes/pki/front-proxy-client.crt": issue(
        "front-proxy-client", 10.2, "front-proxy-ca"
    ),
    "/etc/kubernetes/admin.conf": kubeconfig(issue("kubernetes-admin", 200.1)),
    "/etc/kubernetes/pki/ca.crt": issue("kubernetes", 3000.5, "kubernetes"),
    "/var/lib/kubelet/pki/kubelet-client-current.pem": issue("system:node:cp1", 300.5) + KEY_PEM,
}
V1 = {"/etc/openbao/tls/openbao.crt": issue("v1", 700.5, "kubeprimer CA")}


def probed(files: dict[str, str], tmp: Path) -> dict[str, Any]:
    """The real probe on these files, written under ``tmp``, keyed by their host paths."""
    local = {}
    for path, text in files.items():
        copy = tmp / path.lstrip("/")
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text)
        local[str(copy)] = path
    found = json.loads(json.dumps(certs_probe.main([*local, str(tmp / "absent.crt")])))
    return {
        "certificates": {local[p]: pems for p, pems in found["certificates"].items()},
        "errors": found["errors"],
    }


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    base = tmp_path / "inv"
    (base / ".pki").mkdir(parents=True)
    (base / ".pki" / "ca.crt").write_text(issue("kubeprimer CA", 3000.5, "kubeprimer CA"))
    hosts = {
        "all": {
            "children": {
                "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "192.0.2.11"}}},
                "kube_node": {"hosts": {"w1": {"ansible_host": "192.0.2.21"}}},
                "etcd": {"hosts": {"cp1": {}}},
                "vault": {"hosts": {"v1": {"ansible_host": "192.0.2.31"}}},
            }
        }
    }
    (base / "hosts.yml").write_text(yaml.safe_dump(hosts))
    return base / "hosts.yml"


@pytest.fixture
def hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[dict[str, Any]]]:
    """Test double of the SSH fan-out: cp1 and v1 answer with the probe's findings, w1 is
    unreachable. Records each call so a test can check nothing was read."""
    calls: list[dict[str, Any]] = []

    def fake_read_hosts(inv: Any, runs_dir: Path, timeout: int = 10) -> Gathered:
        calls.append({"inventory": inv.path, "paths": certs.probe_paths(inv)})
        return Gathered(
            facts={"cp1": probed(CP1, tmp_path / "cp1"), "v1": probed(V1, tmp_path / "v1")},
            errors={"w1": "unreachable over SSH (Connection timed out)"},
            unreachable={"w1"},
        )

    monkeypatch.setattr(certs, "read_hosts", fake_read_hosts)
    monkeypatch.setattr(certs, "now_utc", lambda: NOW)
    return lambda: calls


def run(*argv: str) -> int:
    try:
        Program(namespace=ns, name="invoke", binary="invoke").run(["invoke", *argv])
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def test_the_probe_hands_over_certificates_and_never_a_private_key(tmp_path: Path) -> None:
    found = probed(CP1, tmp_path)
    text = json.dumps(found)
    assert "PRIVATE KEY" not in text
    assert base64.b64encode(KEY_PEM.encode()).decode() not in text
    assert set(found["certificates"]) == set(CP1)
    for pems in found["certificates"].values():
        assert len(pems) == 1 and pems[0].startswith("-----BEGIN CERTIFICATE-----")


def test_the_table_shows_each_certificate_with_its_expiry_and_marks_a_dead_host(
    inventory: Path, hosts: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("cluster.certs", "-i", str(inventory))
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "Certificates (warning within 30 days)"
    assert lines[1].split() == ["HOST", "CERTIFICATE", "EXPIRES", "DAYS", "LEFT", "ISSUER"]
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in lines[2:]}
    assert rows[("cp1", "apiserver")] == ["2027-11-30", "364", "kubernetes"]
    assert rows[("cp1", "front-proxy-client")] == ["2026-12-10", "10", "front-proxy-ca"]
    assert rows[("cp1", "admin.conf")] == ["2027-06-18", "200", "kubernetes"]
    assert rows[("v1", "openbao")][:3] == ["server", "2028-10-31", "700"]
    assert rows[("controller", "toolkit")][:3] == ["CA", "2035-02-17", "3000"]
    assert lines[[line.split()[0] for line in lines].index("w1")].split()[:3] == [
        "w1",
        "(all)",
        "unreachable",
    ]
    # front-proxy-client expires in 10 days, within the default 30: exit 1, and the fix.
    assert code == 1
    assert "invoke cluster.certs --renew" in err


def test_json_gives_the_same_rows_to_scripts(
    inventory: Path, hosts: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("cluster.certs", "-i", str(inventory), "--json", "--warn-days", "5")
    out, _ = capsys.readouterr()
    data = json.loads(out)
    assert data["warn_days"] == 5
    assert data["expiring"] == 0
    assert data["unreachable"] == ["w1"]
    by_name = {(r["host"], r["certificate"]): r for r in data["certificates"]}
    apiserver = by_name[("cp1", "apiserver")]
    assert apiserver == {
        "host": "cp1",
        "certificate": "apiserver",
        "path": "/etc/kubernetes/pki/apiserver.crt",
        "expires": (NOW + timedelta(days=364.5)).isoformat(),
        "days_left": 364,
        "issuer": "kubernetes",
        "subject": "kube-apiserver",
        "status": "ok",
        "error": None,
    }
    assert by_name[("cp1", "kubelet client")]["subject"] == "system:node:cp1"
    assert by_name[("w1", "(all)")]["status"] == "unreachable"
    assert by_name[("controller", "toolkit CA")]["days_left"] == 3000
    # Nothing within 5 days, but a host could not be read: the unreachable status.
    assert code == 3


@pytest.mark.parametrize(("warn_days", "expected"), [("11", 1), ("10", 3), ("0", 3)])
def test_warn_days_sets_the_exit_status(
    inventory: Path, hosts: Any, warn_days: str, expected: int
) -> None:
    # front-proxy-client has 10 days and some hours left: within 11 days, not within 10
    # (exit 3 then: w1 could not be read).
    assert run("cluster.certs", "-i", str(inventory), "-w", warn_days, "--json") == expected


def test_an_expired_certificate_is_marked_and_exits_1(inventory: Path, tmp_path: Path) -> None:
    rows = certs.host_rows(
        "cp1",
        [Wanted("apiserver", "/etc/kubernetes/pki/apiserver.crt")],
        probed({"/etc/kubernetes/pki/apiserver.crt": issue("kube-apiserver", -2.5)}, tmp_path),
        NOW,
        0,
    )
    assert [(r.status, r.days_left(NOW)) for r in rows] == [("expired", -3)]
    assert certs.warned(rows) == rows


def test_all_reachable_and_far_from_expiry_exits_0(
    inventory: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(certs, "now_utc", lambda: NOW)
    monkeypatch.setattr(
        certs,
        "read_hosts",
        lambda inv, runs_dir, timeout=10: Gathered(facts={"v1": probed(V1, tmp_path)}),
    )
    assert run("cluster.certs", "-i", str(inventory)) == 0


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (["--warn-days", "-1"], "--warn-days is -1"),
        (["--yes"], "--yes only goes with --renew"),
        (["--renew"], "needs confirmation: run it in a terminal, or add --yes"),
    ],
)
def test_bad_input_exits_2_with_one_sentence_and_reads_nothing(
    inventory: Path,
    hosts: Any,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    sentence: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kubeprimer.cluster import certs_renew

    played: list[str] = []
    monkeypatch.setattr("kubeprimer.tasks._common.play_on", lambda *a, **k: played.append("x"))
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115 - closed with the test
    assert run("cluster.certs", "-i", str(inventory), *argv) == 2
    err = capsys.readouterr().err
    assert sentence in err and "Traceback" not in err
    assert err.count("\n") == 1
    assert hosts() == [] and played == []
    assert not certs_renew.pending_file(load(inventory)).exists()


def test_renew_asks_on_a_terminal_and_goes_on_only_on_yes() -> None:
    from io import StringIO

    from kubeprimer.cluster import certs_renew
    from kubeprimer.errors import UserError

    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    shown = StringIO()
    certs_renew.confirm(False, stdin=Terminal("yes\n"), stdout=shown)
    assert shown.getvalue().endswith("Renew now? [y/N] ")
    with pytest.raises(UserError, match="Not confirmed, so nothing was renewed"):
        certs_renew.confirm(False, stdin=Terminal("\n"), stdout=StringIO())
    certs_renew.confirm(True, stdin=StringIO(), stdout=shown)


def test_an_unfinished_renewal_keeps_its_start_time(inventory: Path) -> None:
    from kubeprimer.cluster import certs_renew
    from kubeprimer.errors import UserError

    inv = load(inventory)
    first = certs_renew.started_at(inv, NOW)
    assert first == "20261130143000Z"
    path = certs_renew.pending_file(inv)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert certs_renew.started_at(inv, NOW + timedelta(hours=2)) == first
    path.write_text("garbage\n")
    with pytest.raises(UserError, match="does not hold a renewal start time"):
        certs_renew.started_at(inv, NOW)
