"""vault.init and vault.unseal against a real, non-dev OpenBao server (raft storage, TLS).

Covers the three ways keys leave the server (a 0600 file, age, PGP), the revoked root
token, unsealing after a restart, and that no key or token shows up in what the CLI
printed, in the server's log or on any process's command line.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import hvac
import pytest

from kubeprimer.vault.connect import Endpoint
from kubeprimer.vault.init import Protection, initialise
from kubeprimer.vault.keys import parse_keys
from kubeprimer.vault.partial import PartlyDone

from .baoserver import BaoServer, TestCA, cli_env, kubeprimer, new_server

pytestmark = pytest.mark.integration
needs_age = pytest.mark.skipif(
    shutil.which("age-keygen") is None, reason="needs the Debian package age (scripts/setup)"
)
needs_gpg = pytest.mark.skipif(
    shutil.which("gpg") is None, reason="needs the Debian package gnupg (scripts/setup)"
)


def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    return out


def client(server: BaoServer, token: str | None = None) -> Any:
    return hvac.Client(url=server.address, verify=str(server.ca.ca_cert), token=token)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def generate_root(server: BaoServer, admin: str, keys: list[str]) -> str:
    """The documented recovery path: the admin token plus a quorum of keys make a new root."""
    c = client(server, admin)
    start = c.adapter.post("/v1/sys/generate-root-token/attempt", json={})
    otp, nonce = start["data"]["otp"], start["data"]["nonce"]
    for key in keys:
        reply = c.adapter.post(
            "/v1/sys/generate-root-token/update", json={"key": key, "nonce": nonce}
        )
    encoded = reply["data"]["encoded_token"]
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return bytes(a ^ b for a, b in zip(raw, otp.encode(), strict=True)).decode()


def root_tokens(server: BaoServer, root: str) -> list[str]:
    """Accessors of every live token that carries the root policy."""
    c = client(server, root)
    found = []
    for accessor in c.list("auth/token/accessors")["data"]["keys"]:
        if "root" in c.auth.token.lookup_accessor(accessor)["data"]["policies"]:
            found.append(accessor)
    return found


def assert_no_secret_leaked(secrets: list[str], *texts: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text


def restart(server: BaoServer) -> None:
    server.stop()
    server.start()
    assert client(server).sys.read_seal_status()["sealed"]


def watch_cmdlines(proc: subprocess.Popen[str], secrets: list[str]) -> None:
    """Poll every process's argv while `proc` runs: no secret may ever appear there."""
    while proc.poll() is None:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                argv = cmdline.read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert_no_secret_leaked(secrets, argv)
        time.sleep(0.02)


def test_init_without_operator_keys_writes_one_0600_file_and_revokes_root(
    bao_server: BaoServer, test_ca: TestCA, tmp_path: Path
) -> None:
    out = out_dir(tmp_path)
    args = ["--address", bao_server.address, "--ca-cert", str(test_ca.ca_cert), "--out", str(out)]
    done = kubeprimer("vault.init", *args, "--key-shares", "3", "--key-threshold", "2")
    assert done.returncode == 0, done.stderr
    assert "IN PLAIN TEXT" in done.stderr and "Move them off this machine" in done.stderr
    keys_file, token_file = out / "unseal-keys", out / "admin-token"
    assert mode(keys_file) == 0o600 and mode(token_file) == 0o600
    keys = parse_keys(keys_file.read_text())
    admin = token_file.read_text().strip()
    assert len(keys) == 3
    assert not client(bao_server).sys.read_seal_status()["sealed"]

    root = generate_root(bao_server, admin, keys[:2])
    assert root_tokens(bao_server, root) == [
        client(bao_server, root).auth.token.lookup_self()["data"]["accessor"]
    ]
    client(bao_server, root).auth.token.revoke_self()

    restart(bao_server)
    wrong = tmp_path / "wrong-keys"
    wrong.write_text("\n".join(base64.b64encode(os.urandom(33)).decode() for _ in range(2)) + "\n")
    wrong.chmod(0o600)
    refused = kubeprimer(
        "vault.unseal",
        "--address",
        bao_server.address,
        "--ca-cert",
        str(test_ca.ca_cert),
        "--keys-file",
        str(wrong),
    )
    assert refused.returncode == 1
    assert f"{bao_server.address}: sealed" in refused.stderr and "Traceback" not in refused.stderr
    assert wrong.read_text().split()[0] not in refused.stdout + refused.stderr
    # A second member that is down: reported, while the live one still gets unsealed.
    unseal = subprocess.Popen(
        [
            *kubeprimer_argv(
                "vault.unseal",
                "--address",
                f"{bao_server.address},https://127.0.0.1:1",
                "--ca-cert",
                str(test_ca.ca_cert),
                "--keys-file",
                str(keys_file),
            )
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        start_new_session=True,
    )
    watch_cmdlines(unseal, [*keys, admin])
    stdout, stderr = unseal.communicate()
    assert unseal.returncode == 1, stderr
    assert f"{bao_server.address}: unsealed" in stderr
    assert "https://127.0.0.1:1: sealed (keys 0/0): unreachable" in stderr
    assert not client(bao_server).sys.read_seal_status()["sealed"]
    assert_no_secret_leaked(
        [*keys, admin], done.stdout, done.stderr, stdout, stderr, bao_server.log.read_text()
    )

    again = kubeprimer("vault.init", *args)
    assert again.returncode == 2
    assert "already initialised" in again.stderr and "Traceback" not in again.stderr


def kubeprimer_argv(*args: str) -> list[str]:
    import sys

    return [sys.executable, "-c", "from kubeprimer.cli import main; main()", *args]


def age_identity(folder: Path, name: str) -> tuple[Path, str]:
    identity = folder / f"{name}.key"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(identity)], check=True, capture_output=True, text=True
    ).stdout.strip()
    return identity, recipient


@needs_age
def test_init_encrypts_each_share_to_one_age_recipient(
    bao_server: BaoServer, test_ca: TestCA, tmp_path: Path
) -> None:
    out = out_dir(tmp_path)
    ids = [age_identity(tmp_path, f"operator{i}") for i in range(1, 4)]
    recipients = tmp_path / "recipients.txt"
    recipients.write_text("# one operator per line\n" + "\n".join(r for _, r in ids[:2]) + "\n")
    args = [
        *("vault.init", "--address", bao_server.address, "--ca-cert", str(test_ca.ca_cert)),
        *("--out", str(out), "--key-shares", "3", "--key-threshold", "2"),
        *("--age-recipients", str(recipients)),
    ]

    short = kubeprimer(*args)
    assert short.returncode == 2
    assert "2 operator key(s) for 3 key shares" in short.stderr
    assert not client(bao_server).sys.read_seal_status()["initialized"]

    recipients.write_text("\n".join(r for _, r in ids) + "\n")
    done = kubeprimer(*args)
    assert done.returncode == 0, done.stderr
    assert "IN PLAIN TEXT" not in done.stderr
    files = [out / f"unseal-key-{i}.age" for i in range(1, 4)]
    for path in files:
        assert mode(path) == 0o600
        assert path.read_text().startswith("-----BEGIN AGE ENCRYPTED FILE-----")
    assert not client(bao_server).sys.read_seal_status()["sealed"]

    restart(bao_server)
    # Operators 1 and 3 meet; each brings their own identity (here in one 0600 file).
    both = tmp_path / "identities.txt"
    both.write_text(ids[0][0].read_text() + ids[2][0].read_text())
    both.chmod(0o600)
    unseal = kubeprimer(
        "vault.unseal",
        "--address",
        bao_server.address,
        "--ca-cert",
        str(test_ca.ca_cert),
        "--keys-file",
        str(files[0]),
        "--keys-file",
        str(files[2]),
        "--age-identity",
        str(both),
    )
    assert unseal.returncode == 0, unseal.stderr
    assert not client(bao_server).sys.read_seal_status()["sealed"]


def gpg(home: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            *args,
        ],
        input=data,
        check=True,
        capture_output=True,
    ).stdout


def pgp_operators(folder: Path) -> tuple[Path, list[Path]]:
    """Two operators' gpg keys in one keyring; their public keys, one binary, one armored."""
    home = folder / "gnupg"
    home.mkdir(mode=0o700)
    public = []
    for i in (1, 2):
        gpg(home, "--quick-gen-key", f"op{i} <op{i}@example.test>", "default", "default", "never")
        path = folder / f"op{i}.asc"
        # Operators hand in either form.
        path.write_bytes(
            gpg(home, *(["--armor"] if i == 2 else []), "--export", f"op{i}@example.test")
        )
        public.append(path)
    return home, public


@needs_gpg
def test_init_with_pgp_keys_lets_the_server_encrypt_and_operators_unseal(
    bao_server: BaoServer, test_ca: TestCA, tmp_path: Path
) -> None:
    home, public = pgp_operators(tmp_path)
    out = out_dir(tmp_path)

    def operators_decrypt(threshold: int) -> list[str]:
        # What each operator does with their file: base64 -d | gpg --decrypt.
        return [
            gpg(
                home,
                "--decrypt",
                data=base64.b64decode((out / f"unseal-key-{i}.gpg.b64").read_text()),
            ).decode()
            for i in range(1, threshold + 1)
        ]

    result = initialise(
        [Endpoint(bao_server.address, test_ca.ca_cert)],
        2,
        2,
        Protection(pgp_keys=tuple(public)),
        out,
        operators_decrypt,
    )
    assert result.root_revoked
    assert [p.name for p in result.files] == [
        "unseal-key-1.gpg.b64",
        "unseal-key-2.gpg.b64",
        "admin-token",
    ]
    assert all(mode(p) == 0o600 for p in result.files)
    assert not client(bao_server).sys.read_seal_status()["sealed"]
    keys = operators_decrypt(2)
    assert_no_secret_leaked(
        keys, bao_server.log.read_text(), *(p.read_text() for p in result.files)
    )


def transit_provider(server: BaoServer) -> str:
    """Another OpenBao with a transit key; returns a token that may only use that key."""
    c = client(server)
    reply = c.sys.initialize(secret_shares=1, secret_threshold=1)
    c.sys.submit_unseal_key(reply["keys_base64"][0])
    c.token = reply["root_token"]
    deadline = time.monotonic() + 30
    while not c.sys.read_leader_status().get("is_self") and time.monotonic() < deadline:
        time.sleep(0.2)
    c.sys.enable_secrets_engine("transit")
    c.secrets.transit.create_key("kubeprimer-unseal")
    c.sys.create_or_update_acl_policy(
        name="unseal",
        policy='path "transit/encrypt/kubeprimer-unseal" { capabilities = ["update"] }\n'
        'path "transit/decrypt/kubeprimer-unseal" { capabilities = ["update"] }\n',
    )
    token: str = c.auth.token.create_orphan(policies=["unseal"], period="1h")["auth"][
        "client_token"
    ]
    return token


def test_init_with_transit_auto_unseal_makes_recovery_keys_and_restarts_unsealed(
    tmp_path: Path, test_ca: TestCA
) -> None:
    providers = new_server(tmp_path / "provider", test_ca)
    provider = next(providers)
    try:
        token = transit_provider(provider)
        # The same seal stanza roles/vault writes for vault_seal_transit.
        server = BaoServer(
            tmp_path / "sealed-by-transit",
            test_ca,
            extra_hcl=f"""
seal "transit" {{
  address     = "{provider.address}"
  key_name    = "kubeprimer-unseal"
  mount_path  = "transit/"
  tls_ca_cert = "{test_ca.ca_cert}"
}}""",
            env={"BAO_TOKEN": token},
        )
        server.folder.mkdir()
        server.start()
        try:
            assert client(server).sys.read_seal_status()["type"] == "transit"
            out = out_dir(tmp_path)
            result = initialise(
                [Endpoint(server.address, test_ca.ca_cert)], 3, 2, Protection(), out, lambda n: []
            )
            assert result.root_revoked
            assert len(parse_keys((out / "unseal-keys").read_text())) == 3  # recovery keys
            restart_status = None
            server.stop()
            server.start()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                restart_status = client(server).sys.read_seal_status()
                if not restart_status["sealed"]:
                    break
                time.sleep(0.2)
            assert restart_status is not None and not restart_status["sealed"]
        finally:
            server.stop()
    finally:
        next(providers, None)


def test_key_holders_unseal_in_turn_and_only_reset_drops_their_progress(
    bao_server: BaoServer, test_ca: TestCA, tmp_path: Path
) -> None:
    out = out_dir(tmp_path)
    ep = Endpoint(bao_server.address, test_ca.ca_cert)
    initialise([ep], 3, 2, Protection(), out, lambda n: [])
    held = []
    for i, key in enumerate(parse_keys((out / "unseal-keys").read_text()), 1):
        path = tmp_path / f"operator{i}.key"
        path.write_text(key + "\n")
        path.chmod(0o600)
        held.append(str(path))
    args = ("--address", bao_server.address, "--ca-cert", str(test_ca.ca_cert))

    def unseal(*extra: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return kubeprimer("vault.unseal", *args, *extra, stdin=stdin)

    restart(bao_server)
    first = unseal("--keys-file", held[0])
    assert first.returncode == 1, first.stderr
    assert f"{bao_server.address}: key accepted (1/2)" in first.stderr
    assert (
        "still sealed: 1 of 2 keys entered, the next key holder runs vault.unseal" in first.stderr
    )
    # The same holder again: the server ignores a key it has; saying "accepted" misleads.
    twice = unseal("--keys-file", held[0])
    assert twice.returncode == 1, twice.stderr
    assert f"{bao_server.address}: key already entered (1/2)" in twice.stderr
    assert "key accepted" not in twice.stderr
    nothing = unseal()  # the prompt, with nothing typed
    assert nothing.returncode == 2 and "No unseal keys were given" in nothing.stderr
    # The second holder types their key at the prompt: one is asked for, not two.
    second = unseal(stdin=Path(held[2]).read_text())
    assert second.returncode == 0, second.stderr
    assert "Enter up to 1 unseal key(s)" in second.stderr
    assert f"{bao_server.address}: unsealed" in second.stderr
    assert_no_secret_leaked([Path(held[2]).read_text().strip()], second.stdout, second.stderr)

    restart(bao_server)
    assert unseal("--keys-file", held[0]).returncode == 1
    again = unseal("--reset", "--keys-file", held[1])
    assert again.returncode == 1, again.stderr
    assert "unseal progress reset" in again.stderr and "key accepted (1/2)" in again.stderr
    assert client(bao_server).sys.read_seal_status()["progress"] == 1
    assert unseal("--keys-file", held[2]).returncode == 0
    assert not client(bao_server).sys.read_seal_status()["sealed"]


PGP_KEYS = Path(__file__).parents[2] / "unit" / "vault" / "pgp"


@needs_age
def test_operator_keys_the_server_cannot_use_are_refused_before_init(
    bao_server: BaoServer, test_ca: TestCA, tmp_path: Path
) -> None:
    out = out_dir(tmp_path)
    good = [age_identity(tmp_path, f"operator{i}")[1] for i in (1, 2)]
    recipients = tmp_path / "recipients.txt"
    # Passes for a recipient at a glance; age itself refuses it.
    recipients.write_text("\n".join([*good, "age1" + "q" * 58]) + "\n")
    encrypting = PGP_KEYS / "encrypting.asc"
    mistyped = tmp_path / "mistyped.asc"
    text = encrypting.read_text()
    at = text.index("\n\n") + 20
    mistyped.write_text(text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :])
    base = ["--address", bao_server.address, "--ca-cert", str(test_ca.ca_cert), "--out", str(out)]
    cases = {
        "recipient 3 (age1qqqqqqqqqqqqqqqqqqqq...) is not one age can encrypt to": [
            "--age-recipients",
            str(recipients),
        ],
        "sign-only.asc can only sign, not encrypt": [
            "--pgp-keys",
            f"{encrypting},{PGP_KEYS / 'sign-only.asc'},{encrypting}",
        ],
        "mistyped.asc fails its armor checksum": [
            "--pgp-keys",
            f"{encrypting},{mistyped},{encrypting}",
        ],
    }
    for expected, extra in cases.items():
        done = kubeprimer("vault.init", *base, "--key-shares", "3", "--key-threshold", "2", *extra)
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert not client(bao_server).sys.read_seal_status()["initialized"]
        assert list(out.iterdir()) == []


@needs_gpg
def test_a_failure_after_init_loses_nothing_and_a_rerun_finishes(
    bao_server: BaoServer, test_ca: TestCA, tmp_path: Path
) -> None:
    home, public = pgp_operators(tmp_path)
    out = out_dir(tmp_path)
    ep = Endpoint(bao_server.address, test_ca.ca_cert)
    typo = base64.b64encode(os.urandom(33)).decode()

    # The operators mistype their keys: the server is initialised but stays sealed.
    with pytest.raises(PartlyDone) as stopped:
        initialise([ep], 2, 2, Protection(pgp_keys=tuple(public)), out, lambda n: [typo] * n)
    assert stopped.value.exit_code == 1
    assert "is initialised, but init stopped" in stopped.value.messages[0]
    record = out / "init-pending.json"
    assert mode(record) == 0o600
    assert sorted(p.name for p in out.iterdir()) == [
        "init-pending.json",
        "unseal-key-1.gpg.b64",
        "unseal-key-2.gpg.b64",
    ]
    root = json.loads(record.read_text())["root_token"]
    assert "\n".join(stopped.value.messages).find(root) == -1

    keys = [
        gpg(home, "--decrypt", data=base64.b64decode((out / f"unseal-key-{i}.gpg.b64").read_text()))
        .decode()
        .strip()
        for i in (1, 2)
    ]
    # The same command again: it finishes instead of saying "already initialised".
    again = kubeprimer(
        "vault.init",
        *("--address", bao_server.address, "--ca-cert", str(test_ca.ca_cert), "--out", str(out)),
        *("--key-shares", "2", "--key-threshold", "2"),
        *("--pgp-keys", ",".join(str(p) for p in public)),
        stdin="\n".join(keys) + "\n",
    )
    assert again.returncode == 0, again.stderr
    assert "The initial root token is revoked" in again.stderr
    assert not record.exists() and mode(out / "admin-token") == 0o600
    assert not client(bao_server).sys.read_seal_status()["sealed"]
    admin = (out / "admin-token").read_text().strip()
    assert client(bao_server, admin).sys.list_mounted_secrets_engines()
    with pytest.raises(hvac.exceptions.Forbidden):
        client(bao_server, root).auth.token.lookup_self()
    assert_no_secret_leaked(
        [root, admin, *keys], again.stdout, again.stderr, bao_server.log.read_text()
    )


def test_a_full_disk_after_init_keeps_the_record_and_a_rerun_finishes(
    bao_server: BaoServer, test_ca: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubeprimer.vault import keys as keystore

    out = out_dir(tmp_path)
    ep = Endpoint(bao_server.address, test_ca.ca_cert)
    real_write = keystore.write_private

    def disk_full(path: Path, text: str) -> None:
        if path.name != "init-pending.json":
            raise OSError(28, "No space left on device")
        real_write(path, text)

    monkeypatch.setattr(keystore, "write_private", disk_full)
    with pytest.raises(PartlyDone) as stopped:
        initialise([ep], 1, 1, Protection(), out, lambda n: [])
    assert "No space left on device" in stopped.value.messages[0]
    assert [p.name for p in out.iterdir()] == ["init-pending.json"]
    monkeypatch.setattr(keystore, "write_private", real_write)
    result = initialise([ep], 1, 1, Protection(), out, lambda n: [])
    assert result.root_revoked and not (out / "init-pending.json").exists()
    assert parse_keys((out / "unseal-keys").read_text())
