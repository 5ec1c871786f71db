"""Unseal every member of a cluster and say how each one stands.

Raft followers started with retry_join are still uninitialised when they get their first
key: the key lets them join the leader, and they unseal a moment later. So members are
polled until they answer unsealed, not just handed keys.

Keys are usually held one per operator, each entering theirs in turn: the progress the
server keeps between runs is everyone's, so it is only reset when asked (`reset`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kubeprimer.errors import UserError
from kubeprimer.vault.connect import (
    Endpoint,
    Unreachable,
    raw_client,
    reason,
    seal_status,
    unreachable,
)

JOIN_TIMEOUT_S = 60.0

Say = Callable[[str], None]


def _quiet(line: str) -> None:
    """Progress nobody asked to see."""


@dataclass(frozen=True)
class MemberStatus:
    """One member's seal state after the run; never carries a key."""

    address: str
    initialized: bool
    sealed: bool
    progress: str
    error: str = ""


def _status(ep: Endpoint, status: dict[str, Any], error: str = "") -> MemberStatus:
    return MemberStatus(
        ep.address,
        bool(status.get("initialized")),
        bool(status.get("sealed", True)),
        f"{status.get('progress', 0)}/{status.get('t', 0)}",
        error,
    )


def unseal_member(
    ep: Endpoint,
    keys: Sequence[str],
    reset: bool = False,
    say: Say = _quiet,
    timeout: float = JOIN_TIMEOUT_S,
) -> MemberStatus:
    """Hand keys to one member until it unseals; a refused key is reported, not printed."""
    import hvac.exceptions
    import requests

    client = raw_client(ep)
    deadline = time.monotonic() + timeout
    status = seal_status(ep)
    if not status.get("sealed"):
        return _status(ep, status)
    submit = functools.partial(_submit, client, ep, say=say)
    # With keys enough for the threshold, a member still sealed is a raft follower catching
    # up (it may show progress meanwhile): wait for it. With too few, nothing will change.
    entered = 0 if reset else int(status.get("progress") or 0)
    enough = len(keys) + entered >= int(status.get("t") or 0)
    while True:
        try:
            # A raft follower that has not joined yet has no progress to reset.
            if reset and status.get("initialized"):
                client.sys.submit_unseal_key(reset=True)
                say(f"  {ep.address}: unseal progress reset")
            reset = False
            status = submit(keys)
            while (
                status.get("sealed")
                and (enough or not status.get("progress"))
                and time.monotonic() < deadline
            ):
                # A joining follower stays sealed until raft has caught up with the leader,
                # and may then want the keys again.
                time.sleep(0.5)
                status = seal_status(ep)
                if (
                    status.get("sealed")
                    and status.get("initialized")
                    and status.get("progress") == 0
                ):
                    status = submit(keys)
        except hvac.exceptions.InvalidRequest as refused:
            # A retry_join follower refuses keys until its next join attempt reaches the
            # leader (every few seconds); it is not initialised on its own, only by joining.
            if "not initialized" in str(refused) and time.monotonic() < deadline:
                time.sleep(1.0)
                continue
            return _status(ep, seal_status(ep), reason(refused))
        except requests.exceptions.RequestException as error:
            raise unreachable(ep, error) from None
        waiting = (
            f"still sealed: {status.get('progress', 0)} of {status.get('t', 0)} keys entered, "
            "the next key holder runs vault.unseal"
        )
        return _status(ep, status, waiting if status.get("sealed") else "")


def _submit(client: Any, ep: Endpoint, keys: Sequence[str], say: Say) -> dict[str, Any]:
    status: dict[str, Any] = client.sys.read_seal_status()
    for key in keys:
        before = status.get("progress")
        status = client.sys.submit_unseal_key(key=key)
        if not status.get("sealed"):
            break
        # The server ignores a key it already has in this round, without an error.
        what = "already entered" if status.get("progress") == before else "accepted"
        say(f"  {ep.address}: key {what} ({status.get('progress', 0)}/{status.get('t', 0)})")
    return status


def reachable_status(ep: Endpoint) -> dict[str, Any] | None:
    """The seal status, or None for a member that is down (the others still get unsealed)."""
    try:
        return seal_status(ep)
    except UserError:
        return None


def unseal_all(
    endpoints: Sequence[Endpoint], keys: Sequence[str], reset: bool = False, say: Say = _quiet
) -> list[MemberStatus]:
    """Unseal each member in turn; a member that is down is reported, not fatal."""
    statuses = {ep.address: reachable_status(ep) for ep in endpoints}
    if not keys and any(s and s.get("sealed") for s in statuses.values()):
        raise UserError("No unseal keys were given.")
    if not any(s for s in statuses.values()):
        raise Unreachable(
            f"No member answers ({', '.join(statuses)}): are the servers running? "
            "(check --address or the inventory)"
        )
    if not any(s and s.get("initialized") for s in statuses.values()):
        raise UserError("No member is initialised yet: run `invoke vault.init` first.")
    results = []
    for ep in endpoints:
        if statuses[ep.address] is None:
            results.append(MemberStatus(ep.address, False, True, "0/0", "unreachable"))
            continue
        try:
            results.append(unseal_member(ep, keys, reset, say))
        except UserError as error:
            # It stopped answering midway; report it with the rest.
            results.append(MemberStatus(ep.address, False, True, "0/0", error.messages[0]))
    return results


def wait_active(ep: Endpoint, token: str, timeout: float = 30.0) -> Any:
    """A client once the member serves requests as the active node (not a standby)."""
    import hvac.exceptions
    import requests

    client = raw_client(ep, token)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.sys.read_leader_status().get("is_self"):
                client.auth.token.lookup_self()
                return client
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException):
            pass
        if time.monotonic() > deadline:
            raise UserError(f"{ep.address} did not become the active node within {timeout:.0f} s.")
        time.sleep(0.2)
