"""The config file's offline checks: one sentence per problem, values never inline."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kubeprimer.errors import UserError
from kubeprimer.vault.config import check, duration_s, load


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    return check(write(tmp_path, text))[1]


def test_a_valid_file_loads_with_values_from_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pw").write_text("from-file\n")
    monkeypatch.setenv("USER_FOR_TEST", "from-env")
    desired = load(
        write(
            tmp_path,
            """
            mounts:
              kv/apps:
                max_versions: 4
                secrets:
                  a/b: {password: {file: pw}, user: {env: USER_FOR_TEST}}
            policies:
              p: {hcl: 'path "kv/apps/data/*" { capabilities = ["read"] }'}
            kubernetes:
              roles:
                r: {service_accounts: [sa], namespaces: ["*"], policies: [p], ttl: 15m}
            """,
        )
    )
    secret = desired.secrets["kv/apps/a/b"]
    assert secret.data == {"password": "from-file", "user": "from-env"}
    assert "from-file" not in repr(secret)
    assert desired.mounts["kv/apps"].max_versions == 4
    assert desired.roles["r"].ttl_s == 900
    assert desired.kubernetes_mount == "kubernetes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mount: {}\n", "the top level: unknown key 'mount'"),
        ("mounts: {kv: {type: kv-v1}}\n", "type 'kv-v1' is not supported"),
        ("mounts: {sys: {}}\n", "mounts.sys: sys/ belongs to the server itself"),
        ("mounts: {kv: {secrets: {a: {k: plain}}}}\n", "values are never written inline"),
        (
            "mounts: {kv: {secrets: {a: {k: {env: NOT_SET_ANYWHERE_1}}}}}\n",
            "NOT_SET_ANYWHERE_1 is not set",
        ),
        ("mounts: {kv: {secrets: {a: {k: {file: nope}}}}}\n", "does not exist"),
        ("policies: {root: {hcl: x}}\n", "'root' is the built-in policy"),
        ("policies: {p: {hcl: x, file: y}}\n", "exactly one of hcl: or file:"),
        (
            "kubernetes: {roles: {r: {namespaces: [a], policies: []}}}\n",
            "service_accounts must list",
        ),
        (
            "kubernetes: {roles: {r: {service_accounts: [a], namespaces: [a], ttl: soon}}}\n",
            "not a duration",
        ),
        ("policies: {p: {hcl: x}}\nremove: {policies: [p]}\n", "keep it in one place"),
        ("policies: {p: {hcl: x}}\npolicies: {q: {hcl: y}}\n", "duplicate key 'policies'"),
    ],
)
def test_each_mistake_is_named(tmp_path: Path, text: str, expected: str) -> None:
    try:
        found = problems(tmp_path, text)
    except UserError as error:
        found = error.messages
    assert any(expected in p for p in found), found
    assert all(p.endswith(".") for p in found)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "extra: 1\npolicies: {root: {hcl: x}}\nmounts: {kv: {typo: 1}}\n")
    assert len(found) == 3


def test_durations() -> None:
    assert [duration_s(v) for v in ("90", "90s", "15m", "1h", "2d", "1w", "soon")] == [
        90,
        90,
        900,
        3600,
        172800,
        None,
        None,
    ]


def test_a_secret_variable_that_is_not_utf8_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The environment hands undecodable bytes to Python as lone surrogates.
    monkeypatch.setenv("KP_BINARY_SECRET", "abc\udcff")
    found = problems(tmp_path, "mounts: {kv: {secrets: {a: {k: {env: KP_BINARY_SECRET}}}}}\n")
    assert found == [
        "mounts.kv.secrets.a.k: environment variable KP_BINARY_SECRET is not UTF-8 text."
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # `$` also matches before a final newline: such names reached the server.
        ('mounts: {"apps\\n": {}}\n', "is not a usable mount path"),
        ('mounts: {kv: {secrets: {"a/b\\n": {k: {env: HOME}}}}}\n', "is not a valid secret path"),
        ('policies: {"p\\n": {hcl: x}}\n', "is not a valid policy name"),
        ('kubernetes: {roles: {"r\\n": {service_accounts: [a], namespaces: [a]}}}\n', "role name"),
        # Digits of other scripts are digits to Python, not to the server.
        (
            'kubernetes: {roles: {r: {service_accounts: [a], namespaces: [a], ttl: "\u0661\u0662h"}}}\n',
            "not a duration",
        ),
        # A null key is not the key "None", nor an empty one a key at all.
        ("mounts: {kv: {secrets: {a: {null: {env: HOME}}}}}\n", "keys must be non-empty text"),
        ('mounts: {kv: {secrets: {a: {"": {env: HOME}}}}}\n', "keys must be non-empty text"),
        ("mounts: {kv: {secrets: {a: {5: {env: HOME}}}}}\n", "keys must be non-empty text"),
        (
            "kubernetes: {roles: {null: {service_accounts: [a], namespaces: [a]}}}\n",
            "None is not a valid role name",
        ),
    ],
)
def test_names_and_values_are_whole_matches(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found


def test_compound_durations_are_go_durations() -> None:
    assert [duration_s(v) for v in ("1h30m", "1d12h", "2m5s", "1h1h", "h", "1h-5m")] == [
        5400,
        129600,
        125,
        7200,
        None,
        None,
    ]


def test_top_level_keys_starting_with_x_hold_anchors_for_merge_keys(tmp_path: Path) -> None:
    desired = load(
        write(
            tmp_path,
            """
            x-pods: &pods {service_accounts: [app], namespaces: [team]}
            kubernetes:
              roles:
                a: {<<: *pods, ttl: 5m}
                b: {<<: *pods, namespaces: [other]}
            """,
        )
    )
    assert desired.roles["a"].namespaces == ("team",) and desired.roles["a"].ttl_s == 300
    assert desired.roles["b"].namespaces == ("other",)


@pytest.mark.parametrize("nested", ["[" * 3000 + "]" * 3000, "{a: " * 3000 + "1" + "}" * 3000])
def test_a_file_nested_beyond_reason_is_one_sentence(tmp_path: Path, nested: str) -> None:
    with pytest.raises(UserError, match="nested too deeply"):
        check(write(tmp_path, f"mounts: {nested}\n"))


def test_a_refused_kubernetes_mount_is_reported_once(tmp_path: Path) -> None:
    from kubeprimer.vault import plan, state

    for mount in ("a b", "token"):
        desired, found = check(write(tmp_path, f"kubernetes: {{mount: '{mount}'}}\n"))
        live = state.Live(auth={"token": "token"}, max_ttl_s=3600)
        plan._role_changes(desired, live, False, found)
        assert len(found) == 1, found


def test_a_folder_where_a_file_belongs_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    found = problems(tmp_path, "mounts: {kv: {secrets: {a: {k: {file: secrets}}}}}\n")
    assert found == [f"mounts.kv.secrets.a.k: {tmp_path / 'secrets'} is a folder, not a file."]
    with pytest.raises(UserError, match="is a folder"):
        check(tmp_path)
