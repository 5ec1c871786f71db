"""The record of what an install created: one ConfigMap per addon in kube-system.

``remove`` deletes exactly the objects listed here (and only those still labelled as
the addon's), and a re-install with other settings prunes what it no longer renders.
The record is written before the first object is applied, so that even a failed
install can be removed cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from kubeprimer.addons.kube import fetch, resource
from kubeprimer.addons.render import ADDON_LABEL, FIELD_MANAGER, labels

NAMESPACE = "kube-system"
RECORD_LABEL = "kubeprimer.io/record"


@dataclass(frozen=True, order=True)
class Ref:
    """Where an object lives: enough to get or delete it again."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Ref:
        meta = obj["metadata"]
        return cls(obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class Record:
    addon: str
    version: str
    refs: tuple[Ref, ...]


def record_name(addon: str) -> str:
    return f"kubeprimer-addon-{addon}"


def _parse(cm: Any) -> Record:
    data = cm.data or {}
    rows = yaml.safe_load(data.get("objects.yaml") or "[]") or []
    refs = tuple(Ref(r["apiVersion"], r["kind"], r.get("namespace", ""), r["name"]) for r in rows)
    return Record(cm.metadata.labels[ADDON_LABEL], data.get("version", ""), refs)


def read(client: Any, addon: str) -> Record | None:
    cm = fetch(client, "v1", "ConfigMap", record_name(addon), NAMESPACE)
    return _parse(cm) if cm is not None else None


def read_all(client: Any) -> dict[str, Record]:
    """Every installed addon's record, by addon name."""
    res = resource(client, "v1", "ConfigMap")
    found = client.get(res, namespace=NAMESPACE, label_selector=f"{RECORD_LABEL}=true")
    records = [_parse(cm) for cm in found.items]
    return {r.addon: r for r in records}


def body(addon: str, version: str, refs: list[Ref]) -> dict[str, Any]:
    """The record's ConfigMap."""
    rows = [
        {"apiVersion": r.api_version, "kind": r.kind, "namespace": r.namespace, "name": r.name}
        for r in refs
    ]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": record_name(addon),
            "namespace": NAMESPACE,
            "labels": {**labels(addon), RECORD_LABEL: "true"},
        },
        "data": {"version": version, "objects.yaml": yaml.safe_dump(rows, sort_keys=False)},
    }


def write(client: Any, addon: str, version: str, refs: list[Ref]) -> None:
    res = resource(client, "v1", "ConfigMap")
    client.server_side_apply(
        res,
        body=body(addon, version, refs),
        namespace=NAMESPACE,
        field_manager=FIELD_MANAGER,
        force_conflicts=True,
    )


def forget(client: Any, addon: str) -> None:
    res = resource(client, "v1", "ConfigMap")
    client.delete(res, name=record_name(addon), namespace=NAMESPACE)
