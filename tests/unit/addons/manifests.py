"""Render every real addon (addons/*) in every variant its tests.yml names, and validate.

Built-in kinds are validated with kubernetes-validate's strict schemas (the library the
``kubernetes-validate --strict`` command runs) for each supported Kubernetes minor.
Custom resources have no schema there: they are validated against the openAPIV3Schema
of the CustomResourceDefinition the addon ships. Unknown kinds fail.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import yaml

from kubeprimer.addons import catalog, config, render

KUBE_MINORS = ("1.35", "1.36", "1.37")
# The schema files are large; the library reads them on every call. Same data, read once.
kubernetes_validate.utils.schema_contents = functools.cache(
    kubernetes_validate.utils.schema_contents
)


@dataclass(frozen=True)
class Case:
    addon: str
    variant: str
    settings: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.addon}-{self.variant}"


def spec(addon: catalog.Addon) -> dict[str, Any]:
    path = addon.path / "tests.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def cases() -> list[Case]:
    out = []
    for addon in catalog.all_addons(kind=None):
        s = spec(addon)
        for name, settings in (s.get("variants") or {"defaults": {}}).items():
            out.append(Case(addon.name, name, {**(s.get("base") or {}), **(settings or {})}))
    return out


def invalid_cases() -> list[tuple[str, dict[str, Any], str]]:
    out = []
    for addon in catalog.all_addons(kind=None):
        s = spec(addon)
        for bad in s.get("invalid") or []:
            out.append((addon.name, {**(s.get("base") or {}), **bad["settings"]}, bad["message"]))
    return out


CLUSTER_DEFAULTS = {"kube_node_cidr": "192.168.50.0/24", "kube_pod_cidr": "10.244.0.0/16"}


def objects(case: Case) -> list[dict[str, Any]]:
    resolved = config.resolve(
        catalog.get(case.addon, kind=None), {**CLUSTER_DEFAULTS, **case.settings}
    )
    return render.objects(resolved)


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema, from the CRDs every addon ships."""
    found = {}
    for case in cases():
        for obj in objects(case):
            if obj["kind"] == "CustomResourceDefinition":
                spec_ = obj["spec"]
                for version in spec_["versions"]:
                    key = (f"{spec_['group']}/{version['name']}", spec_["names"]["kind"])
                    found[key] = version["schema"]["openAPIV3Schema"]
    return found


def validate(obj: dict[str, Any], minor: str) -> str:
    """'' when valid, else what is wrong; says which validator judged it."""
    key = (obj["apiVersion"], obj["kind"])
    if key in crd_schemas():
        try:
            jsonschema.Draft7Validator(crd_schemas()[key]).validate(obj)
        except jsonschema.ValidationError as error:
            return f"CRD schema: {'.'.join(map(str, error.path))}: {error.message}"
        return ""
    try:
        kubernetes_validate.validate(obj, minor, strict=True)
    except kubernetes_validate.ValidationError as error:
        return (
            f"kubernetes-validate {minor} strict: {'.'.join(map(str, error.path))}: {error.message}"
        )
    except kubernetes_validate.SchemaNotFoundError as error:
        return f"no schema: {error.message}"
    return ""


def write_all(out: Path) -> list[Path]:
    """For the independent check: every variant's manifests as files."""
    written = []
    for case in cases():
        folder = out / case.id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "all.yaml"
        target.write_text(yaml.safe_dump_all(objects(case), sort_keys=False))
        written.append(target)
    return written
