"""Rolling upgrade of a Vault/OpenBao raft cluster onto the inventory's release.

Standbys go first, one at a time; the active member goes last, after it has stepped
down (sys/step-down), so requests are always served by a member that is not being
restarted. Between two members the cluster must be whole again: the member just
restarted answers unsealed on the wanted release, and raft autopilot reports the
cluster healthy with every member a healthy voter.

Nothing is recorded on the controller: each run reads the servers (their own seal
status names the release they run), so a run stopped anywhere, killed or waiting for
an operator's unseal key, is finished by the next, which skips the members done.

A release goes up one minor at a time, never down: a skip or a downgrade is refused
before anything changes, as is a cluster that is not whole to begin with.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kubeprimer import pins
from kubeprimer.errors import UserError, raise_if
from kubeprimer.vault.connect import Endpoint, authenticated, denied, raw_client, seal_status
from kubeprimer.vault.init import ADMIN_POLICY_HCL
from kubeprimer.vault.members import from_inventory
from kubeprimer.vault.partial import PartlyDone
from kubeprimer.vault.reserved import ADMIN_POLICY
from kubeprimer.vault.unseal import unseal_member

# Seconds a restarted member may take to answer unsealed and raft to call it healthy
# (autopilot waits for a server to be stable for a while), and a new leader to be elected.
SETTLE_TIMEOUT_S = 180.0
STEP_DOWN_TIMEOUT_S = 60.0
_RELEASE = re.compile(r"v?([0-9]+)\.([0-9]+)\.([0-9]+)")

Say = Callable[[str], None]
Keys = Callable[[Endpoint, dict[str, Any]], list[str]]
RunHost = Callable[[str], None]
Confirm = Callable[[list[str]], None]


def release(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release name such as 2.7.2 or v2.7.2; build suffixes ignored."""
    found = _RELEASE.fullmatch(text.strip().split("+")[0])
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def step_problem(host: str, running: str, wanted: str) -> str:
    """One sentence when ``running`` to ``wanted`` is not one allowed step; '' when it is."""
    have, want = release(running), release(wanted)
    if have is None or want is None:
        return (
            f"{host} runs {running!r}, which is not a release number kubeprimer can compare "
            f"with {wanted}: upgrade it by hand, then run `invoke vault.upgrade` again."
        )
    if want < have:
        return (
            f"vault_version is {wanted} but {host} runs {running}: going down a release is not "
            f"supported; set vault_version to {running} or later."
        )
    next_minor = (have[0], have[1] + 1)
    if want[:2] not in {have[:2], next_minor, (have[0] + 1, 0)}:
        return (
            f"vault_version {wanted} skips a minor release from {running} on {host}: set "
            f"vault_version to the newest {next_minor[0]}.{next_minor[1]}.x, run "
            f"`invoke vault.upgrade`, then go on to {wanted}."
        )
    return ""


@dataclass(frozen=True)
class Member:
    """One vault host: its inventory name (also its raft node_id) and where it answers."""

    host: str
    endpoint: Endpoint


@dataclass(frozen=True)
class Target:
    members: list[Member]
    flavor: str
    version: str


def target(inv: Any, ca_cert: str | None) -> Target:
    """The vault hosts and the one release they should all run (vault_version, else the pin)."""
    hosts = inv.group("vault")
    if not hosts:
        raise UserError(f"{inv.path} has no hosts in the vault group: add the Vault servers.")
    wanted = {}
    for host in hosts:
        flavor = str(host.vars.get("vault_flavor") or "openbao")
        if flavor not in ("openbao", "vault"):
            raise UserError(f"vault_flavor of {host.name} is {flavor!r}; set openbao or vault.")
        version = str(host.vars.get("vault_version") or pins.load()[flavor]["version"])
        wanted[host.name] = (flavor, version.removeprefix("v"))
    if len(set(wanted.values())) > 1:
        listed = ", ".join(f"{h}: {f} {v}" for h, (f, v) in wanted.items())
        raise UserError(
            f"The vault hosts ask for different releases ({listed}); set vault_flavor and "
            "vault_version once, for the whole vault group."
        )
    flavor, version = next(iter(wanted.values()))
    if release(version) is None:
        raise UserError(
            f"vault_version {version!r} is not a release number such as 2.7.2; "
            "set it in the inventory."
        )
    endpoints = from_inventory(inv, ca_cert)
    members = [Member(h.name, ep) for h, ep in zip(hosts, endpoints, strict=True)]
    return Target(members, flavor, version)


@dataclass(frozen=True)
class Seen:
    """What one member says about itself, unauthenticated."""

    member: Member
    version: str
    sealed: bool
    active: bool
    seal_type: str = "shamir"


def look(member: Member) -> Seen:
    """The member's release, seal state and whether it is the active one."""
    import hvac.exceptions
    import requests

    status = seal_status(member.endpoint)  # one sentence, exit 3, when it does not answer
    if not status.get("initialized"):
        raise UserError(
            f"{member.host} is not initialised: run `invoke vault.init` before upgrading."
        )
    active = False
    if not status.get("sealed"):
        try:
            active = bool(raw_client(member.endpoint).sys.read_leader_status().get("is_self"))
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException):
            active = False  # stepping down or restarting right now: not the one to skip
    return Seen(
        member,
        str(status.get("version") or ""),
        bool(status.get("sealed")),
        active,
        str(status.get("type") or "shamir"),
    )


def same(running: str, wanted: str) -> bool:
    return release(running) is not None and release(running) == release(wanted)


def order(seen: Sequence[Seen], wanted: str) -> list[Seen]:
    """The members still to upgrade: standbys in inventory order, the active member last."""
    todo = [s for s in seen if not same(s.version, wanted)]
    return [s for s in todo if not s.active] + [s for s in todo if s.active]


def check(seen: Sequence[Seen], wanted: str) -> None:
    """Every member may go to ``wanted`` in one step, or the run stops before any change."""
    problems = (step_problem(s.member.host, s.version, wanted) for s in seen)
    raise_if(p for p in problems if p)


def ensure_grants(client: Any, say: Say) -> None:
    """The token may step the leader down and read raft's health.

    The kubeprimer-admin policy of a cluster initialised by an earlier release lacks
    both; the admin token may write policies, so it is brought up to date (nothing else
    in it changes). Any other token must already hold them.
    """
    import hvac.exceptions

    wanted = {"sys/step-down": {"update", "sudo"}, "sys/storage/raft/autopilot/state": {"read"}}
    try:
        held = client.adapter.post("/v1/sys/capabilities-self", json={"paths": list(wanted)})
        caps = held.get("data", held)
        if all(
            "root" in caps.get(p, []) or need <= set(caps.get(p, [])) for p, need in wanted.items()
        ):
            return
        policies = client.auth.token.lookup_self()["data"].get("policies") or []
        if ADMIN_POLICY not in policies:
            raise UserError(
                "The token may not step the leader down or read raft's health "
                "(sys/step-down, sys/storage/raft/autopilot/state): use the admin token "
                f"`invoke vault.init` wrote (policy {ADMIN_POLICY})."
            )
        client.sys.create_or_update_acl_policy(name=ADMIN_POLICY, policy=ADMIN_POLICY_HCL)
    except hvac.exceptions.Forbidden as error:
        raise denied(error) from None
    say(f"Policy {ADMIN_POLICY} now lets its token step the leader down and read raft health.")


def raft_problem(client: Any, hosts: Sequence[str], wanted: str, host: str) -> str:
    """'' when autopilot calls the cluster healthy, every host a healthy voter and ``host``
    on the wanted release; otherwise what is still wrong, for the message on timeout."""
    import hvac.exceptions
    import requests

    try:
        state = client.read("sys/storage/raft/autopilot/state")["data"]
    except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as error:
        return f"raft autopilot did not answer ({type(error).__name__})"
    servers = state.get("servers") or {}
    wrong = [
        f"{h} is {servers[h].get('status')}, healthy={servers[h].get('healthy')}"
        if h in servers
        else f"{h} is not a raft member"
        for h in hosts
        if h not in servers
        or not servers[h].get("healthy")
        or servers[h].get("status") not in ("leader", "voter")
    ]
    if not state.get("healthy") and not wrong:
        wrong.append("autopilot reports the cluster unhealthy")
    reported = str((servers.get(host) or {}).get("version") or wanted)
    if not wrong and not same(reported, wanted):
        wrong.append(f"{host} reports {reported} to raft")
    return "; ".join(wrong)


@dataclass
class Upgrade:
    """One run: the cluster, how to reach each host's playbook, keys and the operator."""

    target: Target
    token: str
    source: str  # where the token came from, for the message when it is refused
    run_host: RunHost
    keys: Keys
    say: Say
    timeout: float = SETTLE_TIMEOUT_S

    def client(self, member: Member) -> Any:
        return raw_client(member.endpoint, self.token)

    def any_client(self) -> Any:
        """A client of the first unsealed member (standbys forward to the active one)."""
        for member in self.target.members:
            if not look(member).sealed:
                return self.client(member)
        raise PartlyDone("No member is unsealed: run `invoke vault.unseal`, then this again.")

    def unseal(self, seen: Seen, upgrading: bool) -> None:
        """Unseal a member with the keys at hand; without enough, stop and say who is next."""
        member = seen.member
        status = seal_status(member.endpoint)
        if not status.get("sealed"):
            return
        if seen.seal_type == "shamir":
            keys = self.keys(member.endpoint, status)
            result = unseal_member(member.endpoint, keys, say=self.say) if keys else None
            if result is None or result.sealed:
                progress = (
                    result.progress
                    if result
                    else f"{status.get('progress', 0)}/{status.get('t', 0)}"
                )
                stop = PartlyDone if upgrading else UserError
                raise stop(
                    f"{member.host} runs {seen.version or 'its new release'} and is sealed "
                    f"({progress} keys): run `invoke vault.unseal`, then `invoke vault.upgrade` "
                    "again to go on."
                )
        # An auto-unsealed (transit) member opens by itself; a Shamir one may still be joining.
        self.wait(
            lambda: "sealed" if seal_status(member.endpoint).get("sealed") else "", member.host
        )

    def wait(self, problem: Callable[[], str], host: str) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            wrong = problem()
            if not wrong:
                return
            if time.monotonic() > deadline:
                raise PartlyDone(
                    f"{host}: still not settled after {self.timeout:.0f} s ({wrong}); put it "
                    "right, then run `invoke vault.upgrade` again to go on."
                )
            time.sleep(1.0)

    def healthy(self, host: str) -> None:
        hosts = [m.host for m in self.target.members]
        self.wait(lambda: raft_problem(self.any_client(), hosts, self.target.version, host), host)

    def step_down(self, seen: Seen) -> None:
        """Hand leadership to another member and wait until one of them is active."""
        import hvac.exceptions

        try:
            self.client(seen.member).sys.step_down()
        except hvac.exceptions.Forbidden as error:
            raise denied(error) from None
        others = [m for m in self.target.members if m != seen.member]
        deadline = time.monotonic() + STEP_DOWN_TIMEOUT_S
        while not any(look(m).active for m in others):
            if time.monotonic() > deadline:
                raise PartlyDone(
                    f"{seen.member.host} stepped down but no other member became active within "
                    f"{STEP_DOWN_TIMEOUT_S:.0f} s: check the servers' logs, then run "
                    "`invoke vault.upgrade` again."
                )
            time.sleep(0.5)
        self.say(f"  {seen.member.host}: stepped down; another member is active")

    def member(self, seen: Seen) -> None:
        """Restart one member on the wanted release, unseal it, wait until raft is whole."""
        host, wanted = seen.member.host, self.target.version
        self.say(f"{host}: {seen.version} -> {wanted}{' (active)' if seen.active else ''}")
        if seen.active:
            self.step_down(seen)
        self.run_host(host)
        after = look(seen.member)
        if not same(after.version, wanted):
            raise PartlyDone(
                f"{host} still runs {after.version} after its playbook: check "
                f"`systemctl status` there, then run `invoke vault.upgrade` again."
            )
        self.unseal(after, upgrading=True)
        self.healthy(host)
        self.say(f"  {host}: unsealed on {wanted}; raft healthy")

    def run(self, confirm: Confirm) -> list[str]:
        """The hosts upgraded; [] when every member already ran the wanted release."""
        seen = [look(m) for m in self.target.members]
        wanted = self.target.version
        check(seen, wanted)
        todo = order(seen, wanted)
        sealed = [s for s in seen if s.sealed]
        if not todo and not sealed:
            return []
        opened = next((s.member for s in seen if not s.sealed), None)
        if opened:  # a wrong token is bad input, found before anything changes
            authenticated(opened.endpoint, self.token, self.source)
        if todo:
            confirm([f"{s.member.host}: {s.version} -> {wanted}" for s in todo])
        # A member left sealed by a stopped run (or a reboot) opens before anything else;
        # one on the new release is the sign of a run to finish.
        for s in sealed:
            self.unseal(s, upgrading=same(s.version, wanted))
        ensure_grants(self.any_client(), self.say)
        self.healthy("")
        return self.roll([s.member for s in todo])

    def roll(self, left: list[Member]) -> list[str]:
        """Upgrade ``left`` one at a time. Leadership may move during a restart, so each
        turn looks again: the member holding it goes last and hands it to one upgraded."""
        done: list[str] = []
        while True:
            turn = order([look(m) for m in left], self.target.version)
            if not turn:
                return done
            self.member(turn[0])
            done.append(turn[0].member.host)
            left = [s.member for s in turn[1:]]
