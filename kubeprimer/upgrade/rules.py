"""Which version moves are allowed: each refusal is a UserError of one sentence naming
the component, the running and the wanted version, and what to do.

Kubernetes' version skew policy (kubernetes.io/releases/version-skew-policy): control
planes move one minor at a time, never down; a kubelet is never newer than the API
server and at most three minors older (two before 1.28). etcd supports upgrades one
minor at a time and no downgrade through a rolling replace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kubeprimer import pins
from kubeprimer.errors import UserError

# "v1.37.1", "1.37", "containerd://2.3.5", "1.6.20~ds1-1+deb12u3", "v3.32.1".
_VERSION = re.compile(r"(?:^|[^\d.])v?(\d+)\.(\d+)(?:\.(\d+))?")
# kubelet may trail the API server by this many minors from Kubernetes 1.28 on, two before.
KUBELET_SKEW = 3
KUBELET_SKEW_BEFORE_1_28 = 2


@dataclass(frozen=True, order=True)
class Version:
    """major.minor.patch, compared as numbers; pre-release and build suffixes are ignored."""

    major: int
    minor: int
    patch: int = 0

    @property
    def line(self) -> str:
        """The minor line, as pins.yml keys it ("1.37")."""
        return f"{self.major}.{self.minor}"

    def minors_after(self, older: Version) -> int:
        """Minors from ``older`` up to this one; a major change counts as more than any skew."""
        if self.major != older.major:
            return 1000 * (self.major - older.major)
        return self.minor - older.minor


def parse(text: str) -> Version | None:
    """The version in ``text`` (a tag, a package version, a runtime URL), or None."""
    found = _VERSION.search(text or "")
    if not found:
        return None
    return Version(int(found[1]), int(found[2]), int(found[3] or 0))


def _version(text: str, component: str) -> Version:
    found = parse(text)
    if found is None:
        raise UserError(
            f"The {component} version {text!r} is not a version number; write it as X.Y.Z."
        )
    return found


def kubernetes(running: str, wanted: str, supported: Sequence[str] | None = None) -> None:
    """A control-plane move from ``running`` to ``wanted``: same version, or one minor up
    (any newer patch), within the supported minors."""
    have, want = _version(running, "running Kubernetes"), _version(wanted, "wanted Kubernetes")
    lines = list(pins.supported_minors() if supported is None else supported)
    if want.line not in lines:
        raise UserError(
            f"Kubernetes {wanted} is outside the supported minors ({', '.join(lines)}); "
            f"set kube_version to a release of one of them (the cluster runs {running})."
        )
    _one_minor_up("Kubernetes", "kube_version", (running, have), (wanted, want), "kubeadm")


def kubelet(node: str, kubelet_version: str, apiserver: str) -> None:
    """A kubelet at ``kubelet_version`` beside an API server at ``apiserver``: never newer,
    at most three minors older (two before 1.28)."""
    have, api = _version(kubelet_version, "kubelet"), _version(apiserver, "API server")
    if have > api:
        raise UserError(
            f"The kubelet on {node} would run {kubelet_version}, newer than the API server's "
            f"{apiserver}; upgrade the control plane first with invoke cluster.upgrade."
        )
    limit = KUBELET_SKEW if api >= Version(1, 28) else KUBELET_SKEW_BEFORE_1_28
    if api.minors_after(have) > limit:
        raise UserError(
            f"The kubelet on {node} would run {kubelet_version}, more than {limit} minors "
            f"older than the API server's {apiserver}; set kube_version for it to "
            f"{api.major}.{api.minor - limit} or newer."
        )


def joining(host: str, wanted: str, apiserver: str) -> None:
    """A fresh host joining at the inventory's ``wanted`` version, beside the running API
    server: allowed only where the skew policy allows that kubelet."""
    have, api = _version(wanted, "wanted Kubernetes"), _version(apiserver, "API server")
    if have > api:
        raise UserError(
            f"The new host {host} would join with kubelet {wanted}, newer than the API "
            f"server's {apiserver}; run invoke cluster.upgrade first, or set kube_version "
            f"to {apiserver}."
        )
    kubelet(host, wanted, apiserver)


def etcd(running: str, wanted: str, member: str = "") -> None:
    """An external etcd member moving from ``running`` to ``wanted``: the same minor or the
    next one, never down."""
    have, want = _version(running, "running etcd"), _version(wanted, "wanted etcd")
    who = f"etcd on {member}" if member else "etcd"
    _one_minor_up(who, "etcd_version", (running, have), (wanted, want), "a rolling replace")


def _one_minor_up(
    who: str,
    setting: str,
    running: tuple[str, Version],
    wanted: tuple[str, Version],
    upgrader: str,
) -> None:
    """Refuse going down or skipping a minor; each pair is (as written, as parsed)."""
    (said_have, have), (said_want, want) = running, wanted
    if want < have:
        raise UserError(
            f"{who} would go down from {said_have} to {said_want}, which {upgrader} cannot "
            f"do; set {setting} back to {said_have} or newer."
        )
    if want.minors_after(have) > 1:
        step = f"{have.major}.{have.minor + 1}"
        raise UserError(
            f"{who} would skip a minor going from {said_have} to {said_want}; upgrade to "
            f"{step} first (set {setting} to a {step} release and run invoke cluster.upgrade)."
        )
