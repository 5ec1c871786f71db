"""The hosts kubeprimer supports: one list, derived from the per-release pins.

A Debian release is supported when the pins file pins the distribution's containerd
package for it (``kubeprimer_pins.containerd.distro`` in
roles/kube_defaults/defaults/main/pins.yml): that is what the roles install on it, and
what the tests run on lab nodes of that release. The lab boots exactly these releases,
preflight accepts exactly these hosts, and tests/unit/test_support_matrix.py holds the
roles' ``meta/main.yml`` platforms and the README's hosts line to them.

Ubuntu is not claimed: its archive cannot be reached from the test machines, so no
role has run there, and preflight refuses it.
"""

from __future__ import annotations

import functools

from kubeprimer import pins
from kubeprimer.errors import UserError

# Debian's own numbering (os-release VERSION_ID) of each codename; a fact about
# Debian, not a claim of support.
DEBIAN_VERSIONS = {"bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14"}


@functools.cache
def debian_releases() -> tuple[str, ...]:
    """Codenames of the supported Debian releases, oldest first."""
    pinned = [str(r) for r in pins.load()["containerd"]["distro"]]
    unknown = [r for r in pinned if r not in DEBIAN_VERSIONS]
    if unknown:
        raise UserError(
            f"The pins file pins containerd for Debian {', '.join(unknown)}, whose version "
            "number kubeprimer does not know; add it to DEBIAN_VERSIONS in kubeprimer/platforms.py."
        )
    return tuple(sorted(pinned, key=lambda r: int(DEBIAN_VERSIONS[r])))


def supported_hosts() -> set[tuple[str, str]]:
    """(os-release ID, VERSION_ID) of every supported host system."""
    return {("debian", DEBIAN_VERSIONS[r]) for r in debian_releases()}


def describe() -> str:
    """'Debian 12 (bookworm) or 13 (trixie)', for messages and the README."""
    named = [f"{DEBIAN_VERSIONS[r]} ({r})" for r in debian_releases()]
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"
    return f"Debian {listed}"
