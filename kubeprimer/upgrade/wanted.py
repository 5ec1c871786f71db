"""The versions the inventory asks for, resolved the way the roles resolve them.

A host's own variable wins over the cluster-wide setting, which wins over the role's
default; a default that names a pin (``{{ kubeprimer_pins.etcd.version }}``) is that
pin (kubeprimer/pins.py), so no version is copied here. A value Ansible would template
from something else is None: only Ansible can resolve it, and the checks skip it.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Any

from kubeprimer import pins, yamlfile
from kubeprimer.inventory import Host, Inventory
from kubeprimer.paths import ROLES

_PIN = re.compile(r"^\{\{\s*kubeprimer_pins\.(\w+)\.version\s*\}\}$")
# The Debian release in a node's osImage: "Debian GNU/Linux 12 (bookworm)".
_CODENAME = re.compile(r"\((\w+)\)\s*$")


@functools.cache
def _role_defaults(role: str) -> dict[str, Any]:
    return dict(yamlfile.read(ROLES / role / "defaults" / "main.yml") or {})


def value(inv: Inventory, host: Host | None, name: str, role: str) -> str | None:
    """The setting ``name`` for ``host`` (None: cluster-wide), resolved as far as a pin."""
    if host is not None and name in host.vars:
        raw = host.vars[name]
    elif name in inv.settings:
        raw = inv.settings[name]
    else:
        raw = _role_defaults(role).get(name)
    if raw is None:
        return None
    text = str(raw)
    pinned = _PIN.match(text.strip())
    if pinned:
        return str(pins.load()[pinned[1]]["version"])
    return None if "{{" in text else text


def kubernetes(inv: Inventory, host: Host | None = None) -> str | None:
    return value(inv, host, "kube_version", "kube_defaults")


def etcd(inv: Inventory, host: Host | None = None) -> str | None:
    """etcd_version, or with etcd_binary_source controller_path the release of the
    controller's binaries, which the role copies whatever etcd_version says."""
    if value(inv, host, "etcd_binary_source", "etcd") != "controller_path":
        return value(inv, host, "etcd_version", "etcd")
    folder = value(inv, host, "etcd_controller_bin_dir", "etcd")
    return _binary_version(str(Path(folder).expanduser() / "etcd")) if folder else None


@functools.cache
def _binary_version(binary: str) -> str | None:
    try:
        said = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return None  # the role's preflight names a missing binary
    found = re.search(r"etcd Version:\s*(\S+)", said)
    return found[1] if found else None


def containerd(inv: Inventory, host: Host | None, os_image: str = "") -> tuple[str | None, str]:
    """The containerd release roles/containerd installs on ``host`` and the setting that
    says so; the distribution's package is pinned per Debian release (``os_image`` names it)."""
    if value(inv, host, "containerd_source", "containerd") != "distro":
        return value(inv, host, "containerd_version", "containerd"), "containerd_version"
    given = value(inv, host, "containerd_package_version", "containerd")
    if given:
        return given, "containerd_package_version"
    codename = _CODENAME.search(os_image)
    distro = pins.load()["containerd"].get("distro") or {}
    pinned = distro.get(codename[1]) if codename else None
    return (str(pinned) if pinned else None), "containerd_source distro"


def cni(inv: Inventory) -> tuple[str, str | None]:
    """The pod network (kube_cni) and the release roles/cni deploys for it."""
    name = str(inv.settings.get("kube_cni") or "flannel")
    return name, value(inv, None, f"cni_{name}_version", "cni")
