"""vault.upgrade's rules, without a server: which release steps it takes, in which order
it restarts members, and the inventory settings it refuses (exit 2, one sentence each).
The upgrade itself runs against real OpenBao servers on lab nodes
(tests/integration/vault/test_openbao_upgrade_lab_nodes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeprimer.errors import UserError
from kubeprimer.inventory.model import load
from kubeprimer.pins import load as load_pins
from kubeprimer.vault.connect import Endpoint
from kubeprimer.vault.upgrade import (
    Member,
    Seen,
    Target,
    Upgrade,
    check,
    order,
    release,
    step_problem,
    target,
)


@pytest.mark.parametrize(
    ("running", "wanted"),
    [
        ("2.6.2", "2.6.2"),
        ("2.6.1", "2.6.2"),
        ("2.6.2", "2.7.0"),
        ("2.6.2", "v2.7.2"),
        ("2.9.3", "3.0.1"),
        ("1.20.4+ent", "1.21.0"),
    ],
)
def test_allowed_steps(running: str, wanted: str) -> None:
    assert step_problem("bao1", running, wanted) == ""


@pytest.mark.parametrize(
    ("running", "wanted", "sentence"),
    [
        (
            "2.7.2",
            "2.6.2",
            "vault_version is 2.6.2 but bao1 runs 2.7.2: going down a release is not "
            "supported; set vault_version to 2.7.2 or later.",
        ),
        ("2.7.2", "2.7.1", "going down a release is not supported"),
        (
            "2.6.2",
            "2.8.0",
            "vault_version 2.8.0 skips a minor release from 2.6.2 on bao1: set vault_version "
            "to the newest 2.7.x, run `invoke vault.upgrade`, then go on to 2.8.0.",
        ),
        ("2.9.0", "3.1.0", "skips a minor release"),
        ("2.9.0", "4.0.0", "skips a minor release"),
        ("dev", "2.7.2", "is not a release number kubeprimer can compare"),
    ],
)
def test_refused_steps(running: str, wanted: str, sentence: str) -> None:
    assert sentence in step_problem("bao1", running, wanted)


def test_release_numbers() -> None:
    assert release("v2.7.2") == (2, 7, 2)
    assert release("1.20.4+ent") == (1, 20, 4)
    assert release("2.7") is None
    assert release("latest") is None


def seen(host: str, version: str, active: bool = False) -> Seen:
    return Seen(Member(host, Endpoint(f"https://{host}:8200")), version, False, active)


def test_standbys_first_the_active_member_last_and_finished_members_skipped() -> None:
    members = [seen("a", "2.6.2", active=True), seen("b", "2.7.2"), seen("c", "2.6.2")]
    assert [s.member.host for s in order(members, "2.7.2")] == ["c", "a"]
    assert order([seen("a", "2.7.2", active=True), seen("b", "2.7.2")], "2.7.2") == []


def test_every_member_with_a_problem_is_named_at_once() -> None:
    members = [seen("a", "2.7.2"), seen("b", "2.5.0"), seen("c", "2.8.0")]
    with pytest.raises(UserError) as raised:
        check(members, "2.7.2")
    assert len(raised.value.messages) == 2
    assert "b runs 2.5.0" not in raised.value.messages[0]
    assert "from 2.5.0 on b" in raised.value.messages[0]
    assert "c runs 2.8.0" in raised.value.messages[1]


def inventory(tmp_path: Path, vault_vars: str, host_vars: str = "") -> Path:
    (tmp_path / ".pki").mkdir(exist_ok=True)
    (tmp_path / ".pki" / "ca.crt").write_text("the toolkit CA, read only when connecting\n")
    path = tmp_path / "hosts.yml"
    path.write_text(
        f"""
all:
  children:
    vault:
      vars: {{{vault_vars}}}
      hosts:
        bao1: {{ansible_host: 192.0.2.1{host_vars}}}
        bao2: {{ansible_host: 192.0.2.2}}
"""
    )
    return path


def test_target_is_the_inventory_release_else_the_pin(tmp_path: Path) -> None:
    pinned = target(load(inventory(tmp_path, "")), None)
    assert (pinned.flavor, pinned.version) == ("openbao", str(load_pins()["openbao"]["version"]))
    assert [m.host for m in pinned.members] == ["bao1", "bao2"]
    assert pinned.members[0].endpoint.address == "https://192.0.2.1:8200"
    asked = target(load(inventory(tmp_path, "vault_version: v2.6.2")), None)
    assert asked.version == "2.6.2"


@pytest.mark.parametrize(
    ("vault_vars", "host_vars", "sentence"),
    [
        ("vault_version: latest", "", "vault_version 'latest' is not a release number"),
        (
            "vault_version: 2.7.2",
            ", vault_version: 2.7.1",
            "The vault hosts ask for different releases (bao1: openbao 2.7.1, bao2: openbao "
            "2.7.2); set vault_flavor and vault_version once, for the whole vault group.",
        ),
        ("vault_flavor: consul", "", "vault_flavor of bao1 is 'consul'; set openbao or vault."),
    ],
)
def test_target_refuses(tmp_path: Path, vault_vars: str, host_vars: str, sentence: str) -> None:
    with pytest.raises(UserError) as raised:
        target(load(inventory(tmp_path, vault_vars, host_vars)), None)
    assert sentence in raised.value.messages[0]


def test_without_a_terminal_only_yes_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    from kubeprimer.tasks.vault import _confirm_upgrade

    with pytest.raises(UserError) as refused:
        _confirm_upgrade(False)(["bao1: 2.6.2 -> 2.7.2"])
    assert refused.value.messages == [
        "vault.upgrade restarts every member and needs confirmation: run it in a terminal, "
        "or add --yes."
    ]
    _confirm_upgrade(True)(["bao1: 2.6.2 -> 2.7.2"])
    assert "  bao1: 2.6.2 -> 2.7.2" in capsys.readouterr().err


def test_each_turn_looks_again_so_the_member_that_became_active_goes_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seen in the Molecule scenario: a standby's restart moved leadership to c, which
    was not upgraded yet; b must go before it, so c hands leadership to an upgraded one."""
    from kubeprimer.vault import upgrade

    members = [Member(h, Endpoint(f"https://{h}:8200")) for h in ("a", "b", "c")]
    state = {"a": ("2.6.2", True), "b": ("2.6.2", False), "c": ("2.6.2", False)}

    def look(member: Member) -> Seen:
        version, active = state[member.host]
        return Seen(member, version, False, active)

    def restart(self: Upgrade, seen: Seen) -> None:
        state[seen.member.host] = ("2.7.2", False)
        if seen.member.host == "b":  # an election while b restarts: c wins
            state["a"], state["c"] = ("2.6.2", False), ("2.6.2", True)
        if seen.active:
            state["a"] = ("2.7.2", True) if seen.member.host == "c" else state["a"]

    monkeypatch.setattr(upgrade, "look", look)
    monkeypatch.setattr(Upgrade, "member", restart)
    run = Upgrade(Target(members, "openbao", "2.7.2"), "t", "test", print, lambda e, s: [], print)
    assert run.roll(members) == ["b", "a", "c"]
    assert run.roll(members) == []
