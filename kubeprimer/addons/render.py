"""Render an addon's templates into Kubernetes objects, labelled as kubeprimer's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from kubeprimer import yamlfile
from kubeprimer.addons.config import Resolved
from kubeprimer.addons.templating import environment
from kubeprimer.errors import UserError

MANAGED_BY = "app.kubernetes.io/managed-by"
ADDON_LABEL = "kubeprimer.io/addon"
FIELD_MANAGER = "kubeprimer"
# Cluster-wide setting: a registry that mirrors every upstream one (air-gapped clusters).
MIRROR_SETTING = "addons_image_registry"


@dataclass(frozen=True)
class Rendered:
    """One template's objects, in the order the template wrote them."""

    template: str
    objects: list[dict[str, Any]]


def labels(addon: str) -> dict[str, str]:
    """The labels that mark an object as created by ``invoke addons.install NAME``."""
    return {MANAGED_BY: FIELD_MANAGER, ADDON_LABEL: addon}


def context(resolved: Resolved) -> dict[str, Any]:
    """What a template sees: settings, cluster (inventory settings), addon, images, labels."""
    addon = resolved.addon
    mirror = str(resolved.cluster.get(MIRROR_SETTING) or "")
    return {
        "addon": addon,
        "settings": resolved.settings,
        "cluster": resolved.cluster,
        "namespace": addon.namespace,
        "images": {k: img.ref(mirror) for k, img in addon.images.items()},
        "labels": labels(addon.name),
        "files": _files(addon.path / "files"),
    }


def _files(folder: Path) -> dict[str, str]:
    """Raw files shipped with the addon (dashboards...), not templated: ``files['a/b.json']``."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): yamlfile.text_of(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _label(obj: dict[str, Any], addon: str) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), **labels(addon)}
    return obj


def render(resolved: Resolved) -> list[Rendered]:
    """Every template of the addon, rendered; a template bug names the template and line."""
    addon = resolved.addon
    env = environment(addon.path / "templates")
    ctx = context(resolved)
    out = []
    for path in addon.templates:
        try:
            text = env.get_template(path.name).render(**ctx)
            docs = [d for d in yaml.safe_load_all(text) if d]
        except UnicodeDecodeError:
            raise UserError(
                f"{addon.name}/templates/{path.name} is not UTF-8 text; save it as UTF-8."
            ) from None
        except (jinja2.TemplateError, yaml.YAMLError) as error:
            where = getattr(error, "lineno", None)
            at = f" line {where}" if where else ""
            raise UserError(
                f"{addon.name}/templates/{path.name}{at} does not render: {error}."
            ) from None
        out.append(
            Rendered(path.name.removesuffix(".yaml.j2"), [_label(d, addon.name) for d in docs])
        )
    return out


def objects(resolved: Resolved) -> list[dict[str, Any]]:
    return [obj for r in render(resolved) for obj in r.objects]


def write(resolved: Resolved, out_dir: Path) -> list[Path]:
    """The manifests as files, one per template (for review or a GitOps repository)."""
    folder = out_dir / resolved.addon.name
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.yaml"):
        stale.unlink()
    written = []
    for r in render(resolved):
        target = folder / f"{r.template}.yaml"
        body = yaml.safe_dump_all(r.objects, sort_keys=False, explicit_start=True)
        target.write_text(f"# {resolved.addon.name} {resolved.addon.version}: {r.template}\n{body}")
        written.append(target)
    return written
