"""vault.upgrade on a cluster initialised by kubeprimer 0.1.0, against a real OpenBao: that
release's kubeprimer-admin policy could not step the leader down or read raft autopilot.
The admin token brings its own policy up to date (the two paths added, nothing else
changed); a token without that policy is refused with one sentence and changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubeprimer.errors import UserError
from kubeprimer.vault.init import ADMIN_POLICY_HCL
from kubeprimer.vault.reserved import ADMIN_POLICY
from kubeprimer.vault.upgrade import ensure_grants

from .baoserver import Setup

pytestmark = pytest.mark.integration

NEW_PATHS = ("sys/step-down", "sys/storage/raft/autopilot/state")
# The policy as release 0.1.0's vault.init wrote it: today's without the upgrade's paths.
RELEASE_0_1_0 = "".join(
    line
    for line in ADMIN_POLICY_HCL.splitlines(keepends=True)
    if not line.startswith(tuple(f'path "{p}"' for p in NEW_PATHS))
)


def capabilities(token_client: Any) -> dict[str, list[str]]:
    answer = token_client.adapter.post("/v1/sys/capabilities-self", json={"paths": list(NEW_PATHS)})
    return {p: sorted(answer["data"][p]) for p in NEW_PATHS}


def test_admin_token_of_0_1_0_gains_step_down_and_autopilot(setup: Setup) -> None:
    admin = setup.admin()
    assert RELEASE_0_1_0 != ADMIN_POLICY_HCL
    admin.sys.create_or_update_acl_policy(name=ADMIN_POLICY, policy=RELEASE_0_1_0)
    assert capabilities(admin) == {path: ["deny"] for path in NEW_PATHS}
    said: list[str] = []

    ensure_grants(admin, said.append)

    assert capabilities(admin) == {
        "sys/step-down": ["sudo", "update"],
        "sys/storage/raft/autopilot/state": ["read"],
    }
    assert admin.sys.read_acl_policy(ADMIN_POLICY)["data"]["policy"] == ADMIN_POLICY_HCL
    assert said == [
        f"Policy {ADMIN_POLICY} now lets its token step the leader down and read raft health."
    ]
    said.clear()
    ensure_grants(admin, said.append)  # up to date: nothing written, nothing said
    assert said == []


def test_another_token_is_refused_and_changes_nothing(setup: Setup) -> None:
    admin = setup.admin()
    admin.sys.create_or_update_acl_policy(name=ADMIN_POLICY, policy=RELEASE_0_1_0)
    weak = setup.admin()
    weak.token = setup.weak_token().read_text().strip()
    try:
        with pytest.raises(UserError) as refused:
            ensure_grants(weak, lambda line: None)
        assert refused.value.messages == [
            "The token may not step the leader down or read raft's health (sys/step-down, "
            "sys/storage/raft/autopilot/state): use the admin token `invoke vault.init` "
            f"wrote (policy {ADMIN_POLICY})."
        ]
        assert admin.sys.read_acl_policy(ADMIN_POLICY)["data"]["policy"] == RELEASE_0_1_0
    finally:
        admin.sys.create_or_update_acl_policy(name=ADMIN_POLICY, policy=ADMIN_POLICY_HCL)
