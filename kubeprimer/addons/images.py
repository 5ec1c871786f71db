"""Addon images come from the pins file: ``addon.yml`` names a pin, this resolves it.

An addon lists its images as ``images: {prometheus: {pin: prometheus}}``. The pin is an
entry of ``kubeprimer_pins`` (roles/kube_defaults/defaults/main/pins.yml) with ``image``
(registry/repository), ``version`` (the tag), ``digest`` where recorded, and the
``source`` that shows the tag exists upstream. So every version kubeprimer's addons
deploy sits in the same file as the roles' versions, with its release date and end of
life (tests/unit/addons holds them to it). An addon of a user's own may still give an
image inline (registry, repository, tag, optional digest), as before pins existed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeprimer import pins
from kubeprimer.errors import UserError
from kubeprimer.paths import ROOT

ADDON_FILE = "addon.yml"


@dataclass(frozen=True)
class Image:
    """A container image pinned by tag and, where it is recorded, by digest."""

    registry: str
    repository: str
    tag: str
    digest: str = ""
    pin: str = ""
    source: str = ""

    def ref(self, registry: str = "") -> str:
        """The image reference; ``registry`` replaces the upstream one (an offline mirror)."""
        base = f"{registry or self.registry}/{self.repository}:{self.tag}"
        return f"{base}@{self.digest}" if self.digest else base


def _pins_file() -> str:
    path = Path(pins.PINS_FILE)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def table() -> Mapping[str, Any]:
    """``kubeprimer_pins`` as the pins file holds it now."""
    return pins.load()


def pin_name(addon: str, what: str, raw: Any) -> str:
    """The pin an addon.yml entry names (``{pin: NAME}``); anything else is one sentence."""
    if not isinstance(raw, dict) or set(raw) != {"pin"} or not isinstance(raw["pin"], str):
        raise UserError(
            f"{addon}/{ADDON_FILE}: {what} must name a pin of {_pins_file()} as {{pin: NAME}}."
        )
    return raw["pin"]


def _inline(addon: str, key: str, raw: Any) -> Image:
    if not isinstance(raw, dict) or not {"registry", "repository", "tag"} <= raw.keys():
        raise UserError(
            f"{addon}/{ADDON_FILE}: image {key} needs {{pin: NAME}} (a pin of {_pins_file()}) "
            "or registry, repository and tag keys."
        )
    return Image(
        str(raw["registry"]), str(raw["repository"]), str(raw["tag"]), str(raw.get("digest") or "")
    )


def entry(addon: str, what: str, name: str) -> Mapping[str, Any]:
    """The pin called ``name``; an unknown one is one sentence naming the closest."""
    found = table()
    if name not in found:
        close = difflib.get_close_matches(name, [str(k) for k in found], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UserError(
            f"{addon}/{ADDON_FILE}: {what} names pin {name}, which {_pins_file()} "
            f"does not have{hint}; add it there or name an existing pin."
        )
    value = found[name]
    if not isinstance(value, Mapping):
        raise UserError(f"{_pins_file()}: pin {name} must be a mapping with a version.")
    return value


def resolve(addon: str, key: str, raw: Any) -> Image:
    """The image ``key`` of ``addon`` from the pin its addon.yml names."""
    what = f"image {key}"
    if not (isinstance(raw, dict) and "pin" in raw):
        return _inline(addon, key, raw)
    name = pin_name(addon, what, raw)
    pin = entry(addon, what, name)
    where = f"{_pins_file()}: pin {name}"
    image = str(pin.get("image") or "")
    registry, _, repository = image.partition("/")
    # A registry host has a dot or a port; without one the first part is a repository.
    if not repository or not ("." in registry or ":" in registry or registry == "localhost"):
        raise UserError(
            f"{where} has no image as registry/repository "
            f"(e.g. quay.io/prometheus/prometheus), so {addon} cannot run it."
        )
    if not pin.get("version") or not pin.get("source"):
        raise UserError(
            f"{where} needs a version (the tag) and a source that shows the tag exists upstream."
        )
    return Image(
        registry=registry,
        repository=repository,
        tag=str(pin["version"]),
        digest=str(pin.get("digest") or ""),
        pin=name,
        source=str(pin["source"]),
    )


def version(addon: str, raw: Any) -> str:
    """An addon's ``version``: a literal, or ``{pin: NAME}`` for its main component's release."""
    if isinstance(raw, dict):
        name = pin_name(addon, "version", raw)
        return str(entry(addon, "version", name).get("version") or "").removeprefix("v")
    return str(raw)
