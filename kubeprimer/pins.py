"""The pinned versions of every component, read from the one file that holds them.

``roles/kube_defaults/defaults/main/pins.yml`` is what the roles read (through Ansible's
role defaults); this module reads the same file so that the inventory validator and the
tasks never carry a second copy of a version. Its schema is described at the top of it.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeprimer import yamlfile
from kubeprimer.errors import UserError
from kubeprimer.paths import ROLES

PINS_FILE = ROLES / "kube_defaults" / "defaults" / "main" / "pins.yml"
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
# A pin whose end of life is this close is shown so, to plan the upgrade in time.
EOL_SOON_DAYS = 90


@dataclass(frozen=True)
class Pin:
    """One pinned release: a component, or one Kubernetes minor's (or distribution's) line of it."""

    component: str
    version: str
    released: datetime.date | None
    eol: datetime.date | None
    latest: str
    source: str
    line: str = ""  # the Kubernetes minor ("1.36") or Debian release a sub-pin belongs to
    warning: str = ""
    # Why a pin past its end of life is still offered (only ever on request, never a default).
    kept_past_eol: str = ""

    @property
    def name(self) -> str:
        return f"{self.component} ({self.line})" if self.line else self.component

    def past_eol(self, today: datetime.date) -> bool:
        return self.eol is not None and today > self.eol

    def minors_behind(self) -> int:
        """Minors between version and latest within one major; 0 when the two are not comparable."""
        have, newest = _VERSION.match(self.version), _VERSION.match(self.latest)
        if not have or not newest or have[1] != newest[1]:
            return 0
        return max(int(newest[2]) - int(have[2]), 0)

    def status(self, today: datetime.date) -> str:
        """One phrase: past end of life first, then what a reader should know."""
        if self.past_eol(today):
            kept = f": {self.kept_past_eol}" if self.kept_past_eol else ""
            return f"PAST END OF LIFE ({self.eol}){kept}"
        if self.eol is not None and (self.eol - today).days <= EOL_SOON_DAYS:
            return f"end of life on {self.eol}"
        if self.warning:
            return self.warning
        if self.version.lstrip("v") != self.latest.lstrip("v"):
            return f"{self.latest} is out"
        return "current"


def load() -> dict[str, Any]:
    """The ``kubeprimer_pins`` mapping, as Ansible reads it. Shared and read-only: the
    file is read again only when it changed, since an addon, the inventory model and the
    validator each ask for it, many times per command."""
    try:
        info = PINS_FILE.stat()
        stamp = (info.st_mtime_ns, info.st_size)
    except OSError:
        stamp = (0, 0)  # read() names the missing file
    return _read(PINS_FILE, stamp)


@functools.cache
def _read(path: Path, stamp: tuple[int, int]) -> dict[str, Any]:
    data = yamlfile.read(path) or {}
    pins = data.get("kubeprimer_pins") if isinstance(data, dict) else None
    if not isinstance(pins, dict) or not pins:
        raise UserError(f"{path} defines no kubeprimer_pins mapping; restore it from git.")
    return pins


def _date(value: Any, where: str, field: str) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise UserError(
            f"{PINS_FILE}: {where} {field} {value!r} is not a date; write it as YYYY-MM-DD."
        ) from None


def _pin(component: str, entry: Mapping[str, Any], line: str = "") -> Pin:
    where = f"{component} {line}".strip()
    version = entry.get("version")
    if not version:
        raise UserError(f"{PINS_FILE}: {where} has no version; give it one.")
    return Pin(
        component=component,
        version=str(version),
        released=_date(entry.get("released"), where, "released"),
        eol=_date(entry.get("eol"), where, "eol"),
        latest=str(entry.get("latest") or version),
        source=str(entry.get("source") or ""),
        line=line,
        warning=str(entry.get("warning") or ""),
        kept_past_eol=str(entry.get("kept_past_eol") or ""),
    )


def listing(pins: Mapping[str, Any] | None = None) -> Iterator[Pin]:
    """Every pin: each component's own, then one per Kubernetes minor it pins separately.

    The per-Debian-release package versions (``distro``) come from the distribution
    and follow its support, so they are shown by the roles that install them, not here.
    """
    for component, entry in (load() if pins is None else pins).items():
        yield _pin(str(component), entry)
        for minor, sub in (entry.get("minors") or {}).items():
            # A minor's pin inherits what it does not restate (the warning, for one).
            yield _pin(str(component), {"warning": entry.get("warning"), **sub}, str(minor))


def supported_minors(pins: Mapping[str, Any] | None = None) -> list[str]:
    """The Kubernetes minors kubeprimer supports: those it pins a release for."""
    return [str(m) for m in ((load() if pins is None else pins)["kubernetes"]["minors"])]


def cluster_defaults(pins: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The cluster-wide defaults kube_defaults derives from the pins (its cluster.yml)."""
    pins = load() if pins is None else pins
    return {
        "kube_version": str(pins["kubernetes"]["version"]),
        "kube_supported_minors": supported_minors(pins),
    }
