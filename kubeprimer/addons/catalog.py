"""The addon folders: ``addons/NAME/addon.yml`` plus ``templates/*.yaml.j2``.

Images and the version an addon.yml names are pins of the one pins file
(kubeprimer/addons/images.py resolves them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeprimer import yamlfile
from kubeprimer.addons import images as pinned
from kubeprimer.addons.images import Image
from kubeprimer.errors import UserError
from kubeprimer.paths import ADDONS

ADDON_FILE = pinned.ADDON_FILE
KINDS = ("addon", "app")


@dataclass(frozen=True)
class Setting:
    """One tunable of an addon: its default fixes the type; ``choices`` limits the values."""

    name: str
    default: Any
    description: str
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Addon:
    name: str
    version: str
    description: str
    namespace: str
    path: Path
    kind: str = "addon"
    order: int = 50
    images: dict[str, Image] = field(default_factory=dict)
    settings: dict[str, Setting] = field(default_factory=dict)
    summary: str = ""
    checks: tuple[dict[str, str], ...] = ()
    warnings: tuple[dict[str, str], ...] = ()

    @property
    def prefix(self) -> str:
        """Inventory variables for this addon start with this: ``addons_<name>``."""
        return "addons_" + self.name.replace("-", "_")

    @property
    def templates(self) -> list[Path]:
        return sorted((self.path / "templates").glob("*.yaml.j2"))


def _setting(addon: str, key: str, raw: Any) -> Setting:
    if not isinstance(raw, dict) or "default" not in raw or "description" not in raw:
        raise UserError(f"{addon}/{ADDON_FILE}: setting {key} needs a default and a description.")
    return Setting(key, raw["default"], str(raw["description"]), tuple(raw.get("choices", ())))


def _rules(addon: str, key: str, raw: Any) -> tuple[dict[str, str], ...]:
    """``checks``/``warnings``: a Jinja condition ``when`` and a one-sentence ``message``."""
    rules = raw or []
    if not all(isinstance(r, dict) and {"when", "message"} <= r.keys() for r in rules):
        raise UserError(f"{addon}/{ADDON_FILE}: every entry of {key} needs when and message.")
    return tuple({"when": str(r["when"]), "message": str(r["message"])} for r in rules)


def load(path: Path) -> Addon:
    """One addon folder; a malformed addon.yml is reported in one sentence."""
    meta_file = path / ADDON_FILE
    meta = yamlfile.read(meta_file)
    if not isinstance(meta, dict):
        raise UserError(
            f"{meta_file} must be a mapping of name, version, description, namespace and settings."
        )
    missing = [k for k in ("name", "version", "description", "namespace") if k not in meta]
    if missing:
        raise UserError(f"{path.name}/{ADDON_FILE} lacks {', '.join(missing)}.")
    if meta["name"] != path.name:
        raise UserError(
            f"{path.name}/{ADDON_FILE} names itself {meta['name']}; use the folder name."
        )
    kind = meta.get("kind", "addon")
    if kind not in KINDS:
        raise UserError(f"{path.name}/{ADDON_FILE}: kind must be one of {', '.join(KINDS)}.")
    return Addon(
        name=meta["name"],
        version=pinned.version(path.name, meta["version"]),
        description=str(meta["description"]),
        namespace=str(meta["namespace"]),
        path=path,
        kind=kind,
        order=int(meta.get("order", 50)),
        images={k: pinned.resolve(path.name, k, v) for k, v in (meta.get("images") or {}).items()},
        settings={k: _setting(path.name, k, v) for k, v in (meta.get("settings") or {}).items()},
        summary=str(meta.get("summary", "")),
        checks=_rules(path.name, "checks", meta.get("checks")),
        warnings=_rules(path.name, "warnings", meta.get("warnings")),
    )


def all_addons(root: Path = ADDONS, kind: str | None = "addon") -> list[Addon]:
    """Every addon folder (of one kind, or all with ``kind=None``), in install order."""
    found = [load(p.parent) for p in sorted(root.glob(f"*/{ADDON_FILE}"))]
    return sorted((a for a in found if kind in (None, a.kind)), key=lambda a: (a.order, a.name))


def get(name: str, root: Path = ADDONS, kind: str | None = None) -> Addon:
    """The addon called ``name``; an unknown name lists the known ones."""
    known = {a.name: a for a in all_addons(root, kind)}
    if name not in known:
        what = kind or "addon"
        raise UserError(f"There is no {what} {name}; choose one of {', '.join(sorted(known))}.")
    return known[name]
