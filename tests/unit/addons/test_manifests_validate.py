"""Every rendered manifest of every addon, default and non-default settings, validates
for Kubernetes 1.35, 1.36 and 1.37 (see manifests.py for how each kind is judged)."""

from __future__ import annotations

import re

import pytest
from manifests import KUBE_MINORS, Case, cases, crd_schemas, invalid_cases, objects, validate

from kubeprimer.addons import catalog, config
from kubeprimer.errors import UserError

CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "CSIDriver",
    "IngressClass",
    "PriorityClass",
    "PersistentVolume",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}
PINNED = re.compile(r"^[a-z0-9.\-:]+/[a-z0-9._/\-]+:[A-Za-z0-9._\-]+(@sha256:[0-9a-f]{64})?$")


def containers(obj: dict) -> list[dict]:
    spec = obj.get("spec") or {}
    pod = (spec.get("jobTemplate") or {}).get("spec", spec).get("template", {}).get("spec") or {}
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


@pytest.fixture(scope="module", params=cases(), ids=lambda c: c.id)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def test_there_are_addons_to_validate() -> None:
    assert {c.addon for c in cases()} >= {"monitoring"}


def test_every_object_validates_for_each_kubernetes_minor(case: Case) -> None:
    problems = [
        f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}: {why}"
        for minor in KUBE_MINORS
        for obj in objects(case)
        if (why := validate(obj, minor))
    ]
    assert problems == []


def test_objects_are_placed_labelled_and_pinned(case: Case) -> None:
    addon = catalog.get(case.addon, kind=None)
    for obj in objects(case):
        meta = obj["metadata"]
        where = f"{obj['kind']} {meta['name']}"
        assert meta["labels"]["kubeprimer.io/addon"] == case.addon, where
        custom = (obj["apiVersion"], obj["kind"]) in crd_schemas()
        if obj["kind"] not in CLUSTER_SCOPED and not custom:
            assert meta.get("namespace"), f"{where} has no namespace"
        for c in containers(obj):
            assert PINNED.match(c["image"]), f"{where}: image {c['image']} is not pinned"
            res = c.get("resources") or {}
            assert res.get("requests") and (res.get("limits") or {}).get("memory"), (
                f"{where}/{c['name']}: requests and a memory limit"
            )
    assert addon.version


@pytest.mark.parametrize(
    ("addon", "settings", "message"), invalid_cases(), ids=lambda v: str(v)[:40]
)
def test_bad_settings_fail_with_one_sentence(addon: str, settings: dict, message: str) -> None:
    with pytest.raises(UserError) as caught:
        config.resolve(
            catalog.get(addon, kind=None), {"kube_node_cidr": "192.168.50.0/24", **settings}
        )
    assert caught.value.messages == [message]


def test_the_validators_do_reject_bad_objects() -> None:
    good = objects(
        Case("monitoring", "defaults", {"addons_monitoring_grafana_admin_password": "x"})
    )
    deployment = next(o for o in good if o["kind"] == "Deployment")
    typo = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    assert "'replica' was unexpected" in validate(typo, "1.37")
    unknown = {"apiVersion": "example.io/v9", "kind": "Gadget", "metadata": {"name": "g"}}
    assert validate(unknown, "1.37").startswith("no schema")
