"""A benchmark check as cluster.cis evaluates it: a pure function of one host's facts.

Results follow kube-bench's: PASS, FAIL; WARN for a check that is the site's decision
(kube-bench's manual checks with no automated test, or a setting kubeprimer leaves to the
site); N/A where the check does not apply to the host (etcd's checks on a worker, the
etcd pod on a control plane of external etcd); UNKNOWN for a host that did not answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kubeprimer.cis.facts import Flags, HostFacts

PASS, FAIL, WARN, NA, UNKNOWN = "PASS", "FAIL", "WARN", "N/A", "UNKNOWN"

# Where a check applies.
CONTROL_PLANE = "control plane"
STACKED = "control plane with stacked etcd"
ETCD = "etcd member"
NODE = "node"


@dataclass(frozen=True)
class Host:
    """A host as the checks see it: its facts and what the inventory makes it."""

    name: str
    facts: HostFacts
    control_plane: bool = False
    node: bool = False
    etcd: bool = False
    external_etcd: bool = False

    def is_(self, scope: str) -> bool:
        if scope == CONTROL_PLANE:
            return self.control_plane
        if scope == STACKED:
            return self.control_plane and not self.external_etcd
        if scope == ETCD:
            return self.etcd
        return self.node


@dataclass(frozen=True)
class Verdict:
    status: str
    detail: str = ""


Test = Callable[[Host], Verdict]


@dataclass(frozen=True)
class Check:
    """One check of kube-bench's cis-1.12: its section ID, the benchmark's title, where
    it applies, the fix in one sentence, and the test. ``site``: the site's decision,
    reported WARN rather than FAIL when not met."""

    id: str
    title: str
    scope: str
    fix: str
    test: Test
    site: bool = False

    def verdict(self, host: Host) -> Verdict:
        if not host.is_(self.scope):
            return Verdict(NA, f"not a {self.scope}")
        found = self.test(host)
        if found.status == FAIL and self.site:
            return Verdict(WARN, found.detail)
        return found


def passed(ok: bool, detail: str) -> Verdict:
    return Verdict(PASS if ok else FAIL, detail)


def review(detail: str) -> Test:
    """A manual check with nothing to test: the site reviews it (WARN, as kube-bench)."""
    return lambda host: Verdict(FAIL, detail)


# --- files ----------------------------------------------------------------------------


def mode(path: Callable[[Host], str], bits: int, optional: bool = False) -> Test:
    """The file's permissions are ``bits`` or more restrictive (kube-bench's bitmask)."""

    def test(host: Host) -> Verdict:
        where = path(host)
        found = host.facts.stat(where)
        if found is None:
            return Verdict(NA if optional else FAIL, f"{where} not found")
        return passed(found.within(bits), f"{where} is {found.mode:o}")

    return test


def owner(path: Callable[[Host], str], want: str = "root:root", optional: bool = False) -> Test:
    def test(host: Host) -> Verdict:
        where = path(host)
        found = host.facts.stat(where)
        if found is None:
            return Verdict(NA if optional else FAIL, f"{where} not found")
        return passed(found.ownership == want, f"{where} is {found.ownership}")

    return test


def at(path: str) -> Callable[[Host], str]:
    return lambda host: path


# --- flags ----------------------------------------------------------------------------


def component(name: str, judge: Callable[[Flags, Host], Verdict]) -> Test:
    """A test of a static pod's flags (kube-apiserver, kube-controller-manager...)."""

    def test(host: Host) -> Verdict:
        flags = host.facts.manifest_flags(name)
        if flags is None:
            return Verdict(FAIL, f"no {name} manifest")
        return judge(flags, host)

    return test


def is_set(*names: str) -> Callable[[Flags, Host], Verdict]:
    def judge(flags: Flags, host: Host) -> Verdict:
        missing = [f"--{n}" for n in names if not flags.get(n)]
        return passed(not missing, f"{', '.join(missing)} not set" if missing else "set")

    return judge


def unset(name: str) -> Callable[[Flags, Host], Verdict]:
    return lambda flags, host: passed(
        name not in flags, f"--{name} {'set' if name in flags else 'not set'}"
    )


def equals(name: str, want: str, default_ok: bool = False) -> Callable[[Flags, Host], Verdict]:
    """--name is ``want`` (case-insensitively, as kube-bench compares booleans); with
    ``default_ok`` an unset flag passes too (the component's default is safe)."""

    def judge(flags: Flags, host: Host) -> Verdict:
        if name not in flags:
            return passed(default_ok, f"--{name} not set")
        value = flags[name]
        return passed(value.lower() == want.lower(), f"--{name}={value}")

    return judge


def has(name: str, item: str, present: bool = True) -> Callable[[Flags, Host], Verdict]:
    """--name's comma-separated list has (or, ``present=False``, lacks) ``item``."""

    def judge(flags: Flags, host: Host) -> Verdict:
        found = item in flags.items_of(name)
        shown = f"--{name}={flags[name]}" if name in flags else f"--{name} not set"
        return passed(found == present, shown)

    return judge


def at_least(name: str, minimum: int) -> Callable[[Flags, Host], Verdict]:
    def judge(flags: Flags, host: Host) -> Verdict:
        value = flags.get(name, "")
        ok = value.lstrip("-").isdigit() and int(value) >= minimum
        return passed(ok, f"--{name}={value}" if value else f"--{name} not set")

    return judge


def only(name: str, allowed: str) -> Callable[[Flags, Host], Verdict]:
    """kube-bench's ``valid_elements``: set, and every item among ``allowed``."""

    def judge(flags: Flags, host: Host) -> Verdict:
        items = flags.items_of(name)
        extra = [i for i in items if i not in allowed.split(",")]
        if not items:
            return Verdict(FAIL, f"--{name} not set")
        return passed(not extra, f"not allowed: {', '.join(extra)}" if extra else "strong only")

    return judge
