"""vault.plan / vault.apply against a real OpenBao server: idempotence, prune, removals,
and every kind of bad input leaving the server exactly as it was."""

from __future__ import annotations

import http.server
import threading
from typing import Any

import pytest

from kubeprimer.paths import ROOT
from kubeprimer.vault import plan, state
from kubeprimer.vault.config import load
from kubeprimer.vault.partial import PartlyDone

from .baoserver import API_KEY, DB_PASSWORD, DENIED, Setup, kubeprimer

pytestmark = pytest.mark.integration


BASE = """\
mounts:
  apps:
    description: Application secrets
    max_versions: 3
    secrets:
      demo/db:
        password: {file: secrets/db-password}
      demo/api:
        key: {env: TEST_API_KEY}
policies:
  demo-read:
    hcl: |
      path "apps/data/demo/*" { capabilities = ["read"] }
kubernetes:
  roles:
    demo:
      service_accounts: [demo]
      namespaces: [demo]
      policies: [demo-read]
      ttl: 20m
"""


def snapshot(client: Any) -> dict[str, Any]:
    """Everything apply could touch, secret values included, to prove nothing moved."""
    live = state.read(client, "kubernetes")
    secrets = {}
    for path, mount in live.mounts.items():
        if mount.kind == "kv-v2":
            for name in state.secret_paths(client, path):
                meta = client.secrets.kv.v2.read_secret_metadata(name, mount_point=path)["data"]
                secrets[f"{path}/{name}"] = (
                    state.secret_data(client, path, name),
                    meta["current_version"],
                )
    return {"live": repr(live), "secrets": secrets}


def test_apply_twice_changes_nothing_the_second_time(setup: Setup) -> None:
    config = setup.config(BASE)
    first = setup.run("vault.apply", config)
    assert first.returncode == 0, first.stderr
    assert "+ mount apps" in first.stdout and "+ role kubernetes/demo" in first.stdout
    client = setup.admin()
    assert state.secret_data(client, "apps", "demo/db") == {"password": DB_PASSWORD}
    assert state.secret_data(client, "apps", "demo/api") == {"key": API_KEY}
    role = client.auth.kubernetes.read_role("demo")
    assert role["token_ttl"] == 1200 and role["token_policies"] == ["demo-read"]
    before = snapshot(client)

    second = setup.run("vault.apply", config)
    assert second.returncode == 0, second.stderr
    assert "No changes" in second.stdout
    preview = setup.run("vault.plan", config)
    assert "No changes" in preview.stdout
    assert snapshot(client) == before
    for text in (first.stdout, first.stderr, second.stdout, setup.server.log.read_text()):
        assert DB_PASSWORD not in text and API_KEY not in text


def test_a_changed_secret_shows_its_key_not_its_value(setup: Setup) -> None:
    config = setup.config(BASE)
    assert setup.run("vault.apply", config).returncode == 0
    preview = setup.run("vault.plan", config, TEST_API_KEY="rotated-value-55")
    assert preview.returncode == 0
    assert "~ secret apps/demo/api (keys: key)" in preview.stdout
    assert "rotated-value-55" not in preview.stdout + preview.stderr


def test_prune_removes_only_what_is_undeclared_and_only_when_asked(setup: Setup) -> None:
    config = setup.config(BASE)
    assert setup.run("vault.apply", config).returncode == 0
    client = setup.admin()
    client.sys.create_or_update_acl_policy(
        name="stray", policy='path "x" { capabilities = ["read"] }'
    )
    client.secrets.kv.v2.create_or_update_secret("old/thing", secret={"a": "b"}, mount_point="apps")
    client.auth.kubernetes.create_role("stray-role", ["a"], ["b"], policies=["default"])

    plain = setup.run("vault.apply", config)
    assert "No changes" in plain.stdout
    assert "stray" in client.sys.list_acl_policies()["data"]["keys"]

    preview = setup.run("vault.plan", config, "--prune")
    assert "- policy stray" in preview.stdout and "- secret apps/old/thing" in preview.stdout
    assert "- role kubernetes/stray-role" in preview.stdout
    assert "kubeprimer-admin" not in preview.stdout  # the token apply runs on is never pruned
    assert "stray" in client.sys.list_acl_policies()["data"]["keys"]

    pruned = setup.run("vault.apply", config, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "stray" not in client.sys.list_acl_policies()["data"]["keys"]
    assert not state.secret_exists(client, "apps", "old/thing")
    assert "stray-role" not in client.auth.kubernetes.list_roles()["keys"]
    assert "No changes" in setup.run("vault.apply", config, "--prune").stdout


def test_explicit_removal_list(setup: Setup) -> None:
    assert setup.run("vault.apply", setup.config(BASE)).returncode == 0
    client = setup.admin()
    client.sys.create_or_update_acl_policy(
        name="retired", policy='path "y" { capabilities = ["list"] }'
    )
    client.secrets.kv.v2.create_or_update_secret("legacy/x", secret={"a": "b"}, mount_point="apps")
    removal = setup.config(
        BASE + "remove:\n  policies: [retired, never-existed]\n  secrets: [apps/legacy/x]\n",
        "remove.yml",
    )
    done = setup.run("vault.apply", removal)
    assert done.returncode == 0, done.stderr
    assert "- policy retired" in done.stdout and "- secret apps/legacy/x" in done.stdout
    assert "retired" not in client.sys.list_acl_policies()["data"]["keys"]
    assert not state.secret_exists(client, "apps", "legacy/x")
    declared_twice = setup.config(BASE + "remove:\n  secrets: [apps/demo/api]\n", "twice.yml")
    done = setup.run("vault.apply", declared_twice)
    assert done.returncode == 2 and "keep it in one place" in done.stderr
    assert "No changes" in setup.run("vault.apply", removal).stdout


ADMIN = "kubeprimer-admin"
DENY = 'path "*" { capabilities = ["deny"] }'
BAD_INPUTS = {
    "unknown key": (BASE + "mounts_typo: {}\n", ["the top level: unknown key 'mounts_typo'"]),
    "unknown nested key": (
        BASE.replace("      ttl: 20m", "      ttl: 20m\n      polices: [x]"),
        ["kubernetes.roles.demo: unknown key 'polices'"],
    ),
    "policy HCL the server cannot parse": (
        BASE.replace('["read"] }', '["read"'),
        ["policies.demo-read: the server cannot parse its HCL"],
    ),
    "role naming a missing policy": (
        BASE.replace("policies: [demo-read]", "policies: [demo-read, no-such-policy]"),
        [
            "kubernetes.roles.demo: policy 'no-such-policy' is neither in this file nor on the server"
        ],
    ),
    "secret file missing": (
        BASE.replace("secrets/db-password", "secrets/missing"),
        ["mounts.apps.secrets.demo/db.password: file", "does not exist"],
    ),
    "secret variable unset": (
        BASE.replace("TEST_API_KEY", "UNSET_VARIABLE_XYZ"),
        ["environment variable UNSET_VARIABLE_XYZ is not set"],
    ),
    "inline secret value": (
        BASE.replace("{file: secrets/db-password}", "hunter2-inline"),
        ["values are never written inline"],
    ),
    "duplicate key": (BASE + "policies: {}\n", ["duplicate key 'policies'"]),
    # Issue 14.5: nothing may change or remove what the toolkit's own token depends on.
    "the admin policy redeclared": (
        BASE.replace(
            "policies:\n  demo-read:", f"policies:\n  {ADMIN}:\n    hcl: '{DENY}'\n  demo-read:"
        ),
        ["policies.kubeprimer-admin: 'kubeprimer-admin' is the policy the toolkit's own admin"],
    ),
    "the admin policy under another case": (
        BASE.replace(
            "policies:\n  demo-read:",
            f"policies:\n  Kubeprimer-Admin:\n    hcl: '{DENY}'\n  demo-read:",
        ),
        ["'Kubeprimer-Admin' is the policy the toolkit's own admin token runs on"],
    ),
    "the admin policy removed": (
        BASE + "remove:\n  policies: [kubeprimer-admin]\n",
        ["remove.policies: 'kubeprimer-admin' is the policy the toolkit's own admin token"],
    ),
    "the admin policy granted to pods": (
        BASE.replace("policies: [demo-read]", "policies: [demo-read, kubeprimer-admin]"),
        ["kubernetes.roles.demo.policies: 'kubeprimer-admin' is the policy"],
    ),
    "the token auth method as the kubernetes mount": (
        BASE.replace("kubernetes:\n", "kubernetes:\n  mount: token\n"),
        ["kubernetes.mount: auth/token issues every token"],
    ),
    "a policy name in upper case": (
        BASE.replace("demo-read", "Demo-Read"),
        ["the server stores policy names in lower case; write 'demo-read'"],
    ),
    "a role name in upper case": (
        BASE.replace("    demo:\n", "    Demo:\n"),
        ["kubernetes.roles.Demo: the server stores role names in lower case; write 'demo'"],
    ),
    "a mount three segments deep": (
        BASE.replace("  apps:\n", "  apps:\n    max_versions: 3\n  a/b/c: {}\n  apps-copy:\n", 1),
        ["mounts.a/b/c: a mount may be at most 2 segments deep"],
    ),
    "a mount under sys": (
        BASE.replace("  apps:\n", "  sys/extra: {}\n  apps:\n", 1),
        ["mounts.sys/extra: sys/ belongs to the server itself"],
    ),
    # Issue 14.6: everything that can be checked is, before the first write.
    "an absurd TTL": (
        BASE.replace("ttl: 20m", "ttl: 99999999999d"),
        ["is longer than any server allows"],
    ),
    "a TTL over the server's maximum": (
        BASE.replace("ttl: 20m", "ttl: 769h"),
        ["kubernetes.roles.demo.ttl: 2768400 s is longer than the 2764800 s the server allows"],
    ),
    "max_versions beyond 32 bits": (
        BASE.replace("max_versions: 3", "max_versions: 100000000000000000000"),
        ["mounts.apps.max_versions must be a whole number from 0 to 4294967295"],
    ),
    "mounts nested in the file": (
        BASE.replace("  apps:\n", "  team: {}\n  team/apps: {}\n  apps:\n", 1),
        ["team/apps would sit inside the mount team in this file"],
    ),
    "a mount nested in one on the server": (
        BASE.replace("  apps:\n", "  apps/inner: {}\n  apps:\n", 1).replace(
            "  apps:\n", "  other:\n", 1
        ),
        ["mounts.apps/inner: apps/inner would sit inside the mount apps on the server"],
    ),
    "a secret larger than the server stores": (
        BASE.replace("secrets/db-password", "secrets/huge"),
        ["mounts.apps.secrets.demo/db: 2097193 bytes is more than the"],
    ),
    "a secret file that is not UTF-8": (
        BASE.replace("secrets/db-password", "secrets/binary"),
        ["secrets/binary is not UTF-8 text (byte 0)"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_sentence_per_problem_and_changes_nothing(
    setup: Setup, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_API_KEY", API_KEY)
    client = setup.admin()
    # The good state first (in-process, to keep the test fast), then drift that the bad
    # file would undo, were it applied: proves nothing was.
    plan.apply(client, plan.make(client, load(setup.config(BASE))))
    client.secrets.kv.v2.create_or_update_secret(
        "demo/db", secret={"password": "drifted"}, mount_point="apps"
    )
    before = snapshot(client)
    text, expected = BAD_INPUTS[case]
    (setup.folder / "secrets" / "huge").write_text("x" * 2 * 1024 * 1024)
    (setup.folder / "secrets" / "binary").write_bytes(b"\xff\xfe-not-text")
    config = setup.config(text, "bad.yml")
    # plan reads only; apply is the one that must refuse before any write.
    for task in ("vault.apply", "vault.plan") if "HCL" in case else ("vault.apply",):
        done = setup.run(task, config)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert all(line.startswith("error: ") for line in lines)
        assert all(any(e in line for line in lines) for e in expected), done.stderr
        assert snapshot(client) == before


def test_several_problems_are_reported_together(setup: Setup) -> None:
    text = BASE.replace('["read"] }', '["read"').replace("[demo-read]", "[ghost]") + "extra: 1\n"
    done = setup.run("vault.plan", setup.config(text, "many.yml"))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 3, done.stderr


def test_wrong_token_unreachable_server_and_sealed_server_are_clear(setup: Setup) -> None:
    config = setup.config(BASE)
    wrong = setup.folder / "wrong-token"
    wrong.write_text("s.not-a-real-token\n")
    wrong.chmod(0o600)
    done = kubeprimer(
        "vault.plan", "--config", str(config), "--token-file", str(wrong), env=setup.env()
    )
    assert done.returncode == 2 and "is not valid on" in done.stderr

    wrong.chmod(0o644)
    done = kubeprimer(
        "vault.plan", "--config", str(config), "--token-file", str(wrong), env=setup.env()
    )
    assert done.returncode == 2 and "chmod 600" in done.stderr

    done = setup.run("vault.plan", config, BAO_ADDR="https://127.0.0.1:1")
    # Not bad input: exit status 3, as for any host that does not answer (README).
    assert done.returncode == 3 and "Cannot reach the server" in done.stderr

    done = setup.run("vault.plan", config, BAO_CACERT="")
    assert done.returncode == 2 and "--ca-cert" in done.stderr

    setup.server.stop()
    setup.server.start()
    try:
        done = setup.run("vault.apply", config)
        assert done.returncode == 2 and "is sealed: run `invoke vault.unseal`" in done.stderr
    finally:
        keys = setup.folder / "keys" / "unseal-keys"
        unseal = kubeprimer("vault.unseal", "--keys-file", str(keys), env=setup.env())
        assert unseal.returncode == 0, unseal.stderr


def test_the_shipped_example_config_applies_and_is_idempotent(setup: Setup) -> None:
    example = (ROOT / "vault" / "config.example.yml").read_text()
    config = setup.config(example, "example.yml")
    (setup.folder / "secrets" / "demo-db-password").write_text("example-password\n")
    first = setup.run("vault.apply", config, DEMO_DB_USER="demo")
    assert first.returncode == 0, first.stderr
    # The module's server already has a demo role from the tests above: it is updated.
    assert "role kubernetes/demo" in first.stdout and "+ policy demo-db-read" in first.stdout
    assert "No changes" in setup.run("vault.apply", config, DEMO_DB_USER="demo").stdout
    assert state.secret_data(setup.admin(), "secret", "demo/db") == {
        "username": "demo",
        "password": "example-password",
    }


def test_a_write_that_still_fails_names_what_was_applied_and_plan_shows_the_rest(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_API_KEY", API_KEY)
    client = setup.admin()
    client.sys.create_or_update_acl_policy(
        name="old", policy='path "z" { capabilities = ["read"] }'
    )
    config = setup.config(
        BASE.replace(
            "  apps:\n",
            "  late:\n    secrets:\n      s:\n        k: {env: TEST_API_KEY}\n  apps:\n",
            1,
        )
        + "remove:\n  policies: [old]\n",
        "late.yml",
    )
    checked = plan.make(client, load(config))
    # Someone else takes the path between the check and the write.
    client.sys.enable_secrets_engine("transit", path="late")
    try:
        with pytest.raises(PartlyDone) as failed:
            plan.apply(client, checked)
        assert failed.value.exit_code == 1
        refused, applied, left, advice = failed.value.messages
        assert refused.startswith("The server refused `+ mount late (kv-v2)` (")
        assert applied == "Applied (1): - policy old."
        assert left.startswith("Not applied (") and "+ secret late/s" in left
        assert "vault.plan shows what is left" in advice
        assert "old" not in client.sys.list_acl_policies()["data"]["keys"]
    finally:
        client.sys.disable_secrets_engine("late")
    rest = setup.run("vault.plan", config)
    assert rest.returncode == 0, rest.stderr
    assert "+ mount late" in rest.stdout and "+ secret late/s" in rest.stdout
    assert "policy old" not in rest.stdout
    assert setup.run("vault.apply", config).returncode == 0
    client.sys.disable_secrets_engine("late")


def test_a_token_without_permissions_is_one_sentence(setup: Setup) -> None:
    weak = setup.weak_token()
    done = kubeprimer(
        "vault.plan",
        "--config",
        str(setup.config(BASE)),
        "--token-file",
        str(weak),
        env=setup.env(),
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == DENIED.format("mounts")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("http://127.0.0.1:{port}", "speaks HTTPS: use https://127.0.0.1:{port}"),
        ("https://127.0.0.1:82x0", "its port must be a number from 1 to 65535"),
        ("https://127.0.0.1:70000", "its port must be a number from 1 to 65535"),
    ],
)
def test_a_wrong_address_is_one_sentence(setup: Setup, address: str, expected: str) -> None:
    port = str(setup.server.port)
    done = setup.run("vault.plan", setup.config(BASE), BAO_ADDR=address.format(port=port))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert expected.format(port=port) in done.stderr


def test_a_token_file_that_is_not_utf8_is_one_sentence(setup: Setup) -> None:
    binary = setup.folder / "binary-token"
    binary.write_bytes(b"\xffs.token")
    binary.chmod(0o600)
    done = kubeprimer(
        "vault.plan",
        "--config",
        str(setup.config(BASE)),
        "--token-file",
        str(binary),
        env=setup.env(),
    )
    assert done.returncode == 2, done.stderr
    assert f"error: Token file {binary} is not UTF-8 text" in done.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b'mounts:\n  apps: {description: "\xff\xfe"}\n',
            "is not UTF-8 text (byte 0xff on line 2)",
        ),
        (b"mounts:\n  ? [a, b]\n  : {}\n", "line 2: a key is a list"),
    ],
)
def test_a_config_that_cannot_be_read_is_one_sentence_and_changes_nothing(
    setup: Setup, content: bytes, expected: str
) -> None:
    before = snapshot(setup.admin())
    config = setup.folder / "unreadable.yml"
    config.write_bytes(content)
    done = setup.run("vault.apply", config)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and expected in done.stderr
    assert snapshot(setup.admin()) == before


def test_a_mount_deeper_than_the_admin_policy_reaches_does_not_break_plan(setup: Setup) -> None:
    # Someone with more rights made it; the admin token may not read its settings.
    setup.admin().sys.enable_secrets_engine("kv", path="deep/er/mount", options={"version": "2"})
    try:
        done = setup.run("vault.plan", setup.config(BASE))
        assert done.returncode == 0, done.stderr
        assert "deep/er/mount" not in done.stdout
    finally:
        setup.admin().sys.disable_secrets_engine("deep/er/mount")


def test_https_to_a_plain_http_listener_is_one_sentence(setup: Setup) -> None:
    # Any plain-HTTP listener answers a TLS hello the same way a dev server's does.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    worker = threading.Thread(target=server.serve_forever, daemon=True)
    worker.start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        done = setup.run("vault.plan", setup.config(BASE), BAO_ADDR=f"https://{address}")
    finally:
        server.shutdown()
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"error: The server at https://{address} does not speak TLS: use http://{address}."
    )
