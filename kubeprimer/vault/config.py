"""The declarative Vault/OpenBao configuration file: load it and check it, offline.

Secret values are never inline: each names a file (relative to the config file) or an
environment variable. Problems are collected, one sentence each, so a person fixes them
all in one round; the server is only consulted later (policy syntax, missing policies).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeprimer import yamlfile
from kubeprimer.errors import UserError, raise_if
from kubeprimer.vault.grants import grants_anything, guarded_writes
from kubeprimer.vault.reserved import (
    ADMIN_POLICY,
    BUILTIN_POLICIES,
    MAX_MOUNT_DEPTH,
    RESERVED_MOUNTS,
    TOKEN_AUTH,
    reserved_policy,
)

# \Z, not $: $ also matches before a final newline, and such a name reached the server.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
MOUNT_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*\Z")
# Seconds, or Go's compound form (1h30m); ASCII, as \d alone also takes other scripts' digits.
DURATION = re.compile(r"\d+|(\d+[smhd])+", re.ASCII)
DURATION_PART = re.compile(r"(\d+)([smhd])", re.ASCII)
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}

TOP_KEYS = {"mounts", "policies", "kubernetes", "remove"}
MOUNT_KEYS = {"type", "description", "max_versions", "secrets"}
POLICY_KEYS = {"hcl", "file"}
KUBERNETES_KEYS = {"mount", "roles"}
ROLE_KEYS = {"service_accounts", "namespaces", "policies", "ttl", "audience"}
REMOVE_KEYS = {"mounts", "policies", "kubernetes_roles", "secrets"}
VALUE_KEYS = {"file", "env"}
POLICY_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*\Z")
# KV v2 keeps max_versions as a 32-bit unsigned number and silently wraps anything larger.
MAX_VERSIONS = 2**32 - 1
# The server parses TTLs as Go durations: nanoseconds in a signed 64-bit number.
MAX_DURATION_S = (2**63 - 1) // 10**9


@dataclass(frozen=True)
class Mount:
    path: str
    description: str
    max_versions: int


@dataclass(frozen=True)
class Role:
    name: str
    service_accounts: tuple[str, ...]
    namespaces: tuple[str, ...]
    policies: tuple[str, ...]
    ttl_s: int
    audience: str


@dataclass(frozen=True)
class Secret:
    mount: str
    path: str
    # Values read from their sources; kept out of repr so they never reach a log.
    data: dict[str, str] = field(repr=False)

    @property
    def full(self) -> str:
        return f"{self.mount}/{self.path}"


@dataclass
class Removals:
    mounts: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    kubernetes_roles: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)


@dataclass
class Desired:
    """The state the file asks for."""

    mounts: dict[str, Mount] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    kubernetes_mount: str | None = None
    roles: dict[str, Role] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    remove: Removals = field(default_factory=Removals)

    def declares_anything(self) -> bool:
        return bool(self.mounts or self.policies or self.roles or self.kubernetes_mount)


def duration_s(value: Any) -> int | None:
    """Seconds from 90, "90s", "15m", "1h", "2d" or "1h30m"; None when it is none of those."""
    text = str(value).strip()
    if not DURATION.fullmatch(text):
        return None
    if text.isdigit():
        return int(text)
    return sum(int(n) * UNIT_S[unit] for n, unit in DURATION_PART.findall(text))


class _Checker:
    """Walks the parsed file, building Desired and one sentence per problem."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.problems: list[str] = []

    def keys(self, where: str, value: Any, allowed: set[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problems.append(f"{where} must be a mapping.")
            return {}
        for key in value:
            if key not in allowed:
                self.problems.append(
                    f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})."
                )
        return value

    def names(self, where: str, value: Any, pattern: re.Pattern[str] = NAME) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{where} must be a list of names.")
            return []
        for item in value:
            if not pattern.match(item):
                self.problems.append(f"{where}: {item!r} is not a valid name.")
        return list(value)

    def text(self, where: str, value: Any, default: str = "") -> str:
        if value is None:
            return default
        if not isinstance(value, str):
            self.problems.append(f"{where} must be a string.")
            return default
        return value

    def value(self, where: str, spec: Any) -> str | None:
        """A secret value from its file or environment variable, never from the file itself."""
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in VALUE_KEYS:
            self.problems.append(
                f"{where} must be {{file: PATH}} or {{env: VARIABLE}}; values are never written inline."
            )
            return None
        kind, source = next(iter(spec.items()))
        if not isinstance(source, str) or not source:
            self.problems.append(
                f"{where}: {kind} must name a {'path' if kind == 'file' else 'variable'}."
            )
            return None
        if kind == "env":
            if source not in os.environ:
                self.problems.append(f"{where}: environment variable {source} is not set.")
                return None
            try:
                return os.environ[source].encode("utf-8").decode("utf-8")
            except UnicodeEncodeError:
                self.problems.append(f"{where}: environment variable {source} is not UTF-8 text.")
                return None
        text = self.file_text(where, (self.base / source).expanduser())
        return None if text is None else text.rstrip("\n")

    def file_text(self, where: str, path: Path) -> str | None:
        """A file's text; None, with the problem noted, when it is missing or not UTF-8."""
        if path.is_dir():
            self.problems.append(f"{where}: {path} is a folder, not a file.")
            return None
        if not path.is_file():
            self.problems.append(f"{where}: file {path} does not exist.")
            return None
        try:
            return path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            self.problems.append(
                f"{where}: file {path} is not UTF-8 text (byte {error.start}); "
                "store it base64-encoded."
            )
            return None

    def mount(self, path: str, spec: Any, desired: Desired) -> None:
        where = f"mounts.{path}"
        if not isinstance(path, str) or not MOUNT_PATH.match(path):
            self.problems.append(f"{where}: {path!r} is not a usable mount path.")
            return
        if path.split("/")[0] in RESERVED_MOUNTS:
            self.problems.append(
                f"{where}: {path.split('/')[0]}/ belongs to the server itself; pick another path."
            )
            return
        if path.count("/") >= MAX_MOUNT_DEPTH:
            self.problems.append(
                f"{where}: a mount may be at most {MAX_MOUNT_DEPTH} segments deep "
                f"(like team/app), the depth the {ADMIN_POLICY} policy manages."
            )
            return
        spec = self.keys(where, spec, MOUNT_KEYS)
        if spec.get("type", "kv-v2") != "kv-v2":
            self.problems.append(f"{where}: type {spec.get('type')!r} is not supported; use kv-v2.")
        versions = spec.get("max_versions", 0)
        if (
            not isinstance(versions, int)
            or isinstance(versions, bool)
            or not 0 <= versions <= MAX_VERSIONS
        ):
            self.problems.append(
                f"{where}.max_versions must be a whole number from 0 to {MAX_VERSIONS}."
            )
            versions = 0
        desired.mounts[path] = Mount(
            path, self.text(f"{where}.description", spec.get("description")), versions
        )
        for secret_path, values in self.keys_any(f"{where}.secrets", spec.get("secrets")).items():
            self.secret(path, secret_path, values, desired)

    def keys_any(self, where: str, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problems.append(f"{where} must be a mapping.")
            return {}
        return value

    def secret(self, mount: str, path: Any, values: Any, desired: Desired) -> None:
        where = f"mounts.{mount}.secrets.{path}"
        if not isinstance(path, str) or not MOUNT_PATH.match(path):
            self.problems.append(f"{where}: {path!r} is not a valid secret path.")
            return
        if not isinstance(values, dict) or not values:
            self.problems.append(
                f"{where} must map each key to {{file: PATH}} or {{env: VARIABLE}}."
            )
            return
        data = {}
        for key, spec in values.items():
            if not isinstance(key, str) or not key:
                self.problems.append(
                    f"{where}: {key!r} is not a key name; keys must be non-empty text "
                    "(quote numbers)."
                )
                continue
            got = self.value(f"{where}.{key}", spec)
            if got is not None:
                data[key] = got
        secret = Secret(mount, path, data)
        desired.secrets[secret.full] = secret

    def policy(self, name: Any, spec: Any, desired: Desired) -> None:
        where = f"policies.{name}"
        if not self.policy_name(where, name):
            return
        spec = self.keys(where, spec, POLICY_KEYS)
        if ("hcl" in spec) == ("file" in spec):
            self.problems.append(f"{where} needs exactly one of hcl: or file:.")
            return
        if "file" in spec:
            text = self.file_text(where, self.base / self.text(f"{where}.file", spec["file"]))
            if text is None:
                return
        else:
            text = self.text(f"{where}.hcl", spec["hcl"])
        desired.policies[name] = text
        # The server stores a policy without a path block, and it then grants nothing.
        if text.strip() and not grants_anything(text):
            self.problems.append(
                f'{where}: it grants nothing; write at least one path "..." '
                "{ capabilities = [...] } block."
            )
        guarded = guarded_writes(text)
        if guarded:
            self.problems.append(
                f"{where}: it lets its holders change {'; '.join(guarded)}, what the "
                "toolkit's own admin token depends on; grant narrower paths."
            )

    def policy_name(self, where: str, name: Any) -> bool:
        """Whether a name may be declared, granted or removed; the problem noted if not."""
        if not isinstance(name, str) or not NAME.match(name):
            self.problems.append(f"{where}: {name!r} is not a valid policy name.")
        elif reserved_policy(name):
            why = (
                "the built-in policy"
                if name.lower() in BUILTIN_POLICIES
                else "the policy the toolkit's own admin token runs on"
            )
            self.problems.append(
                f"{where}: {name!r} is {why}; kubeprimer never changes, grants or removes it."
            )
        elif not POLICY_NAME.match(name):
            self.problems.append(
                f"{where}: the server stores policy names in lower case; write {name.lower()!r}."
            )
        else:
            return True
        return False

    def kubernetes(self, spec: Any, desired: Desired) -> None:
        spec = self.keys("kubernetes", spec, KUBERNETES_KEYS)
        mount = self.text("kubernetes.mount", spec.get("mount"), "kubernetes")
        self.problems += auth_mount_problems("kubernetes.mount", mount)
        desired.kubernetes_mount = mount
        for name, role in self.keys_any("kubernetes.roles", spec.get("roles")).items():
            self.role(name, role, desired)

    def role(self, name: Any, spec: Any, desired: Desired) -> None:
        where = f"kubernetes.roles.{name}"
        if not isinstance(name, str) or not NAME.match(name):
            self.problems.append(f"{where}: {name!r} is not a valid role name.")
        elif name != name.lower():
            self.problems.append(
                f"{where}: the server stores role names in lower case; write {name.lower()!r}."
            )
        spec = self.keys(where, spec, ROLE_KEYS)
        accounts = self.names(
            f"{where}.service_accounts",
            spec.get("service_accounts"),
            re.compile(r"^(\*|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)\Z"),
        )
        spaces = self.names(
            f"{where}.namespaces",
            spec.get("namespaces"),
            re.compile(r"^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)\Z"),
        )
        for field_name, got in (("service_accounts", accounts), ("namespaces", spaces)):
            if not got:
                self.problems.append(f'{where}.{field_name} must list at least one name (or "*").')
        ttl = duration_s(spec.get("ttl", "1h"))
        if ttl is None:
            self.problems.append(
                f"{where}.ttl {spec.get('ttl')!r} is not a duration like 15m or 1h."
            )
        elif ttl > MAX_DURATION_S:
            self.problems.append(
                f"{where}.ttl {spec.get('ttl')!r} is longer than any server allows."
            )
            ttl = None
        policies = self.names(f"{where}.policies", spec.get("policies"))
        for policy in policies:
            # Every token carries `default` anyway; granting it is harmless.
            if policy != "default":
                self.policy_name(f"{where}.policies", policy)
        desired.roles[name] = Role(
            name,
            tuple(accounts),
            tuple(spaces),
            tuple(policies),
            ttl or 0,
            self.text(f"{where}.audience", spec.get("audience")),
        )

    def remove(self, spec: Any, desired: Desired) -> None:
        spec = self.keys("remove", spec, REMOVE_KEYS)
        desired.remove = Removals(
            self.names("remove.mounts", spec.get("mounts"), MOUNT_PATH),
            self.names("remove.policies", spec.get("policies")),
            self.names("remove.kubernetes_roles", spec.get("kubernetes_roles")),
            self.names("remove.secrets", spec.get("secrets"), MOUNT_PATH),
        )
        declared: dict[str, set[str]] = {
            "mounts": set(desired.mounts),
            "policies": set(desired.policies),
            "kubernetes_roles": set(desired.roles),
        }
        for name in desired.remove.policies:
            self.policy_name("remove.policies", name)
        for kind, names in declared.items():
            both = set(getattr(desired.remove, kind)) & names
            for name in sorted(both):
                self.problems.append(
                    f"remove.{kind}: {name!r} is also declared above; keep it in one place."
                )
        for name in desired.remove.secrets:
            if name in desired.secrets:
                self.problems.append(
                    f"remove.secrets: {name!r} is also declared above; keep it in one place."
                )


def check(path: Path) -> tuple[Desired, list[str]]:
    """Parse a config file: what it asks for, and every problem found without a server.

    A file that cannot be read or parsed at all raises UserError at once; anything else
    is returned, so that the server-side checks can add theirs to the same report.
    """
    if path.is_dir():
        raise UserError(f"Config file {path} is a folder: give the file's path.")
    if not path.is_file():
        raise UserError(f"Config file {path} does not exist.")
    raw = yamlfile.read(path)
    checker = _Checker(path.parent)
    if isinstance(raw, dict):
        # Keys like x-defaults only hold anchors for merge keys (as in Compose files).
        raw = {k: v for k, v in raw.items() if not (isinstance(k, str) and k.startswith("x-"))}
    spec = checker.keys("the top level", raw, TOP_KEYS) if raw is not None else {}
    desired = Desired()
    for mount_path, mount in checker.keys_any("mounts", spec.get("mounts")).items():
        checker.mount(mount_path, mount, desired)
    for name, policy in checker.keys_any("policies", spec.get("policies")).items():
        checker.policy(name, policy, desired)
    if "kubernetes" in spec:
        checker.kubernetes(spec["kubernetes"], desired)
    checker.remove(spec.get("remove"), desired)
    checker.problems += nested_mounts(desired.mounts)
    return desired, checker.problems


def auth_mount_problems(where: str, mount: str, existing: Iterable[str] = ()) -> list[str]:
    """Why a kubernetes auth method may not sit at auth/<mount>, given the auth paths in use."""
    if not MOUNT_PATH.match(mount):
        return [f"{where}: {mount!r} is not a valid auth mount path."]
    if mount.split("/")[0] == TOKEN_AUTH:
        return [
            f"{where}: auth/{TOKEN_AUTH} issues every token, the toolkit's own included; "
            "pick another path."
        ]
    for other in existing:
        if mount.startswith(other + "/") or other.startswith(mount + "/"):
            # The server refuses it, and only once everything before it was done.
            return [
                f"{where}: auth/{mount} would nest with the auth method at auth/{other}; "
                "pick another path."
            ]
    return []


def nested_mounts(paths: Iterable[str], existing: Iterable[str] = ()) -> list[str]:
    """One sentence per declared mount inside another (declared or existing) mount, or around one.

    The server refuses the second of two nested mounts, after the first was made.
    """
    declared = sorted(paths)
    others = sorted(set(existing) - set(declared))
    found = []
    for i, path in enumerate(declared):
        for other in declared[i + 1 :] + others:
            inner, outer = (path, other) if path.startswith(other + "/") else (other, path)
            if inner.startswith(outer + "/"):
                where = "on the server" if other in others else "in this file"
                found.append(
                    f"mounts.{path}: {inner} would sit inside the mount {outer} {where}; "
                    "mounts cannot nest."
                )
    return found


def load(path: Path) -> Desired:
    """Parse and check a config file offline; UserError lists every problem found."""
    desired, problems = check(path)
    raise_if(problems)
    return desired
