"""A policy that would let its holders change the toolkit's own access is found in its text."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeprimer.vault.config import check
from kubeprimer.vault.grants import covers, guarded_writes


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("sys/*", "sys/policies/acl/kubeprimer-admin", True),
        ("sys/policies/acl/+", "sys/policies/acl/kubeprimer-admin", True),
        ("sys/policies/acl/kube*", "sys/policies/acl/kubeprimer-admin", True),
        ("*", "auth/token/revoke-accessor", True),
        ("+/token/revoke", "auth/token/revoke", True),
        ("sys/policies/acl/app-*", "sys/policies/acl/kubeprimer-admin", False),
        ("secret/data/*", "sys/auth/token", False),
        ("auth/token/revoke", "auth/token/revoke-orphan", False),
    ],
)
def test_path_patterns_match_as_the_server_matches_them(
    pattern: str, path: str, expected: bool
) -> None:
    assert covers(pattern, path) is expected


def test_only_writes_to_guarded_paths_count() -> None:
    assert guarded_writes('path "sys/*" { capabilities = ["read", "list"] }') == []
    assert guarded_writes('path "apps/data/*" { capabilities = ["update"] }') == []
    assert guarded_writes('path "sys/*" { capabilities = ["deny"] }') == []
    found = guarded_writes('path "sys/policies/acl/*" {\n  capabilities = ["update"]\n}')
    assert found == ["sys/policies/acl/kubeprimer-admin (through 'sys/policies/acl/*')"]
    as_json = '{"path": {"auth/token/*": {"capabilities": ["update"]}}}'
    assert "auth/token/revoke-accessor (through 'auth/token/*')" in guarded_writes(as_json)


def test_a_config_policy_that_could_rewrite_the_admin_policy_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        'policies:\n  ops:\n    hcl: \'path "sys/*" { capabilities = ["update", "sudo"] }\'\n'
    )
    problems = check(config)[1]
    assert problems and problems[0].startswith(
        "policies.ops: it lets its holders change sys/policies/acl/kubeprimer-admin"
    ), problems


def test_a_policy_that_grants_nothing_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("policies:\n  p: {hcl: '# to do'}\n  q: {hcl: '{}'}\n")
    problems = check(config)[1]
    assert [p.split(":")[0] for p in problems] == ["policies.p", "policies.q"], problems
    assert all("grants nothing" in p for p in problems)
