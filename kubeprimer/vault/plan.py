"""Compare the declared configuration with the server and list the changes, safely.

A plan is checked in full before `apply` runs any of it: policies are parsed by the
server itself (under a scratch name that is removed at once), roles must name
policies that will exist, and mounts must not clash with engines of another type.
Plan lines never show a secret's value, only which keys change.
"""

from __future__ import annotations

import functools
import json
import secrets as random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeprimer.errors import UserError, raise_if
from kubeprimer.vault import state
from kubeprimer.vault.config import Desired, Role, auth_mount_problems, nested_mounts
from kubeprimer.vault.connect import Endpoint, denied, reason, unreachable
from kubeprimer.vault.partial import PartlyDone
from kubeprimer.vault.reserved import ADMIN_POLICY, reserved_policy

# Order of work: what others depend on is created first and removed last.
ORDER = ("mount", "policy", "auth", "role", "secret")


@dataclass(frozen=True)
class Change:
    """One step; `run` performs it against an hvac client."""

    action: str  # "+" create, "~" update, "-" delete
    kind: str
    name: str
    detail: str
    run: Callable[[Any], object] = field(repr=False, compare=False)

    def line(self) -> str:
        return f"  {self.action} {self.kind} {self.name}" + (
            f" ({self.detail})" if self.detail else ""
        )


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)

    def ordered(self) -> list[Change]:
        """Removals first, users before what they use; then creations, in dependency order."""
        creates = sorted(
            (c for c in self.changes if c.action != "-"), key=lambda c: ORDER.index(c.kind)
        )
        deletes = sorted(
            (c for c in self.changes if c.action == "-"), key=lambda c: -ORDER.index(c.kind)
        )
        return deletes + creates

    def counts(self) -> dict[str, int]:
        return {
            word: sum(c.action == action for c in self.changes)
            for action, word in (("+", "create"), ("~", "update"), ("-", "remove"))
        }

    def data(self) -> dict[str, Any]:
        """The plan for scripts (the shape docs/vault.md documents); never a secret value."""
        return {
            "changes": [
                {"action": c.action, "kind": c.kind, "name": c.name, "detail": c.detail}
                for c in self.ordered()
            ],
            "counts": self.counts(),
        }

    def text(self) -> str:
        if not self.changes:
            return "No changes: the server matches the configuration."
        lines = [c.line() for c in self.ordered()]
        counts = self.counts()
        return "\n".join(
            [
                *lines,
                f"{counts['create']} to create, {counts['update']} to update, "
                f"{counts['remove']} to remove.",
            ]
        )


def call(method: str, *args: Any, **kwargs: Any) -> Callable[[Any], object]:
    """A deferred hvac call, e.g. call("sys.delete_acl_policy", name), run by `apply`."""

    def run(client: Any) -> object:
        target = client
        for part in method.split("."):
            target = getattr(target, part)
        return target(*args, **kwargs)

    return run


def _mount_changes(
    desired: Desired, live: state.Live, prune: bool, problems: list[str]
) -> list[Change]:
    out = []
    for path, mount in desired.mounts.items():
        have = live.mounts.get(path)
        if have is None:
            out.append(
                Change(
                    "+",
                    "mount",
                    path,
                    "kv-v2",
                    _create_mount(path, mount.description, mount.max_versions),
                )
            )
        elif have.kind != "kv-v2":
            problems.append(
                f"mounts.{path}: the server already has a {have.kind} engine there; remove it or pick another path."
            )
        elif have.max_versions is None:
            problems.append(
                f"mounts.{path}: the token may not read this mount's settings; "
                f"it needs the {ADMIN_POLICY} policy."
            )
        else:
            what = [
                n
                for n, a, b in (
                    ("description", have.description, mount.description),
                    ("max_versions", have.max_versions, mount.max_versions),
                )
                if a != b
            ]
            if what:
                out.append(
                    Change(
                        "~",
                        "mount",
                        path,
                        ", ".join(what),
                        _update_mount(path, mount.description, mount.max_versions),
                    )
                )
    gone = set(desired.remove.mounts)
    if prune:
        gone |= {p for p, m in live.mounts.items() if m.kind == "kv-v2" and p not in desired.mounts}
    for path in sorted(gone):
        if path in live.mounts:
            if live.mounts[path].kind != "kv-v2":
                problems.append(
                    f"remove.mounts: {path} is a {live.mounts[path].kind} engine, not kv-v2; kubeprimer leaves it alone."
                )
                continue
            out.append(
                Change(
                    "-",
                    "mount",
                    path,
                    "with all its secrets",
                    call("sys.disable_secrets_engine", path),
                )
            )
    kept = set(live.mounts) - gone
    problems += nested_mounts([c.name for c in out if c.action == "+"], kept)
    return out


def _create_mount(path: str, description: str, versions: int) -> Callable[[Any], object]:
    def run(client: Any) -> None:
        client.sys.enable_secrets_engine(
            "kv", path=path, description=description, options={"version": "2"}
        )
        if versions:
            _when_ready(
                lambda: client.secrets.kv.v2.configure(max_versions=versions, mount_point=path)
            )

    return run


# What a server answers about a KV v2 mount created a moment ago: it upgrades itself and
# refuses requests meanwhile, and a standby that forwards the write may not route it yet.
# (A standby says "Waiting for the primary to upgrade from non-versioned to versioned data".)
_NOT_READY_YET = ("Upgrading", "upgrade from non-versioned", "no handler for route")


def _when_ready(step: Callable[[], object], timeout: float = 15.0) -> None:
    """Run ``step``, again while a new KV v2 mount is not ready, up to ``timeout``."""
    import hvac.exceptions

    deadline = time.monotonic() + timeout
    while True:
        try:
            step()
            return
        except hvac.exceptions.VaultError as error:
            if not any(s in str(error) for s in _NOT_READY_YET) or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _update_mount(path: str, description: str, versions: int) -> Callable[[Any], object]:
    def run(client: Any) -> None:
        client.sys.tune_mount_configuration(path, description=description)
        client.secrets.kv.v2.configure(max_versions=versions, mount_point=path)

    return run


def _policy_changes(
    desired: Desired, live: state.Live, prune: bool
) -> tuple[list[Change], set[str]]:
    out = []
    for name, hcl in desired.policies.items():
        have = live.policies.get(name)
        if have is None or have.strip() != hcl.strip():
            out.append(
                Change(
                    "+" if have is None else "~",
                    "policy",
                    name,
                    "" if have is None else "rules changed",
                    call("sys.create_or_update_acl_policy", name=name, policy=hcl),
                )
            )
    gone = set(desired.remove.policies)
    if prune:
        gone |= set(live.policies) - set(desired.policies)
    gone = {name for name in gone if not reserved_policy(name)}
    for name in sorted(gone & set(live.policies)):
        out.append(Change("-", "policy", name, "", call("sys.delete_acl_policy", name)))
    return out, gone


def _role_fields(role: Role) -> dict[str, Any]:
    return {
        "bound_service_account_names": sorted(role.service_accounts),
        "bound_service_account_namespaces": sorted(role.namespaces),
        "token_policies": sorted(role.policies),
        "token_ttl": role.ttl_s,
        "audience": role.audience,
    }


def _role_changes(
    desired: Desired, live: state.Live, prune: bool, problems: list[str]
) -> list[Change]:
    mount = desired.kubernetes_mount
    out: list[Change] = []
    # A mount the file check refused is reported already; the server has nothing to add.
    if mount is None or auth_mount_problems("kubernetes.mount", mount):
        return out
    if mount in live.auth and live.auth[mount] != "kubernetes":
        problems.append(
            f"kubernetes.mount: auth path {mount} already holds a {live.auth[mount]} method; pick another path."
        )
        return out
    nesting = auth_mount_problems("kubernetes.mount", mount, live.auth)
    if nesting:
        problems += nesting
        return out
    for name, role in desired.roles.items():
        if role.ttl_s > live.max_ttl_s:
            problems.append(
                f"kubernetes.roles.{name}.ttl: {role.ttl_s} s is longer than the "
                f"{live.max_ttl_s} s the server allows on auth/{mount} (its max_lease_ttl)."
            )
    if mount not in live.auth:
        out.append(
            Change(
                "+",
                "auth",
                mount,
                "kubernetes",
                call("sys.enable_auth_method", "kubernetes", path=mount),
            )
        )
    for name, role in desired.roles.items():
        want = _role_fields(role)
        have = live.roles.get(name)
        differs = [] if have is None else [k for k, v in want.items() if _normal(have.get(k)) != v]
        if have is None or differs:
            out.append(
                Change(
                    "+" if have is None else "~",
                    "role",
                    f"{mount}/{name}",
                    ", ".join(differs),
                    _write_role(mount, role),
                )
            )
    gone = set(desired.remove.kubernetes_roles)
    if prune:
        gone |= set(live.roles) - set(desired.roles)
    for name in sorted(gone & set(live.roles)):
        out.append(
            Change(
                "-",
                "role",
                f"{mount}/{name}",
                "",
                call("auth.kubernetes.delete_role", name, mount_point=mount),
            )
        )
    return out


def _normal(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else ("" if value is None else value)


def _write_role(mount: str, role: Role) -> Callable[[Any], object]:
    def run(client: Any) -> None:
        client.auth.kubernetes.create_role(
            role.name,
            bound_service_account_names=list(role.service_accounts),
            bound_service_account_namespaces=list(role.namespaces),
            ttl=f"{role.ttl_s}s",
            policies=list(role.policies),
            audience=role.audience or None,
            mount_point=mount,
        )

    return run


def _split(full: str, mounts: list[str]) -> tuple[str, str] | None:
    """(mount, path) by the longest mount that prefixes the name."""
    for mount in sorted(mounts, key=len, reverse=True):
        if full.startswith(mount + "/"):
            return mount, full[len(mount) + 1 :]
    return None


def _secret_changes(
    client: Any,
    desired: Desired,
    live: state.Live,
    prune: bool,
    dying: set[str],
    problems: list[str],
) -> list[Change]:
    out = []
    for full, secret in desired.secrets.items():
        size = len(json.dumps({"options": {}, "data": secret.data}).encode())
        if size > live.max_secret_bytes:
            problems.append(
                f"mounts.{secret.mount}.secrets.{secret.path}: {size} bytes is more than the "
                f"{live.max_secret_bytes} the server stores in one secret; split it."
            )
            continue
        have = (
            state.secret_data(client, secret.mount, secret.path)
            if secret.mount in live.mounts
            else None
        )
        if have != secret.data:
            changed = sorted(
                set(have or {}) ^ set(secret.data)
                | {k for k in secret.data if (have or {}).get(k) != secret.data[k]}
            )
            out.append(
                Change(
                    "+" if have is None else "~",
                    "secret",
                    full,
                    "keys: " + ", ".join(changed),
                    call(
                        "secrets.kv.v2.create_or_update_secret",
                        secret.path,
                        secret=dict(secret.data),
                        mount_point=secret.mount,
                    ),
                )
            )
    kv = [p for p, m in live.mounts.items() if m.kind == "kv-v2"]
    gone = set()
    for full in desired.remove.secrets:
        where = _split(full, kv)
        if where is None:
            if _split(full, list(desired.mounts)) is None:
                problems.append(f"remove.secrets: {full} is not inside any kv-v2 mount.")
            continue
        gone.add(where)
    if prune:
        for mount in desired.mounts:
            if mount in live.mounts and mount not in dying:
                gone |= {
                    (mount, p)
                    for p in state.secret_paths(client, mount)
                    if f"{mount}/{p}" not in desired.secrets
                }
    for mount, path in sorted(gone):
        if mount in dying or not state.secret_exists(client, mount, path):
            continue
        out.append(
            Change(
                "-",
                "secret",
                f"{mount}/{path}",
                "all versions",
                call("secrets.kv.v2.delete_metadata_and_all_versions", path, mount_point=mount),
            )
        )
    return out


def check_policies_parse(
    client: Any, changes: list[Change], desired: Desired, problems: list[str]
) -> None:
    """Ask the server to parse each new or changed policy, under a scratch name it then drops."""
    import hvac.exceptions

    for change in changes:
        if change.kind != "policy" or change.action == "-":
            continue
        scratch = f"kubeprimer-syntax-check-{random.token_hex(6)}"
        try:
            client.sys.create_or_update_acl_policy(
                name=scratch, policy=desired.policies[change.name]
            )
        except hvac.exceptions.InvalidRequest as error:
            problems.append(
                f"policies.{change.name}: the server cannot parse its HCL ({reason(error)})."
            )
        else:
            client.sys.delete_acl_policy(scratch)


def check_role_policies(
    desired: Desired, live: state.Live, gone_policies: set[str], problems: list[str]
) -> None:
    available = (set(live.policies) - gone_policies) | set(desired.policies) | {"default"}
    for role in desired.roles.values():
        for name in role.policies:
            if name not in available:
                why = (
                    "is being removed"
                    if name in gone_policies
                    else "is neither in this file nor on the server"
                )
                problems.append(f"kubernetes.roles.{role.name}: policy {name!r} {why}.")


def make(client: Any, desired: Desired, prune: bool = False, known: Sequence[str] = ()) -> Plan:
    """The checked plan; UserError lists every problem (with `known` ones found offline)
    and nothing has been changed."""
    import hvac.exceptions
    import requests

    try:
        return _make(client, desired, prune, known)
    except hvac.exceptions.Forbidden as error:
        raise denied(error) from None
    except hvac.exceptions.VaultError as error:
        raise UserError(
            f"The server refused a read the plan needs ({reason(error)}); nothing was changed."
        ) from None
    except requests.exceptions.RequestException as error:
        raise unreachable(Endpoint(client.url), error) from None


def _make(client: Any, desired: Desired, prune: bool, known: Sequence[str]) -> Plan:
    live = state.read(client, desired.kubernetes_mount)
    problems: list[str] = list(known)
    mounts = _mount_changes(desired, live, prune, problems)
    policies, gone_policies = _policy_changes(desired, live, prune)
    roles = _role_changes(desired, live, prune, problems)
    dying = {c.name for c in mounts if c.action == "-"}
    secrets = _secret_changes(client, desired, live, prune, dying, problems)
    check_role_policies(desired, live, gone_policies, problems)
    check_policies_parse(client, policies, desired, problems)
    raise_if(problems)
    return Plan(mounts + policies + roles + secrets)


def apply(client: Any, plan: Plan) -> list[str]:
    """Run every change in dependency order; returns the lines done.

    A change the server still refuses stops the run with PartlyDone (exit 1), naming
    what was applied and what was not; `vault.plan` then shows the rest.
    """
    import hvac.exceptions
    import requests

    done: list[str] = []
    steps = plan.ordered()
    for index, change in enumerate(steps):
        try:
            if change.kind == "secret":
                # Writes to a mount created a moment ago wait for its upgrade to finish.
                _when_ready(functools.partial(change.run, client))
            else:
                change.run(client)
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as error:
            left = [c.line().strip() for c in steps[index:]]
            raise PartlyDone(
                f"The server refused `{left[0]}` ({reason(error)}).",
                f"Applied ({len(done)}): "
                + ("; ".join(d.strip() for d in done) or "nothing")
                + ".",
                f"Not applied ({len(left)}): " + "; ".join(left) + ".",
                "Fix the cause and run vault.apply again; vault.plan shows what is left.",
            ) from None
        done.append(change.line())
    return done
