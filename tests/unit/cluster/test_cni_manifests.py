"""The cni role's manifests and the control-plane files, rendered by Ansible for the
sample inventories, validated against the Kubernetes schemas of every supported minor
with kubernetes-validate --strict (in this process: one schema load per version)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubeprimer import pins
from tests.unit.cluster.conftest import docs

VERSIONS = tuple(f"{minor}.0" for minor in pins.supported_minors())
PINS = pins.load()
CNIS = ("flannel", "calico", "weave")


def pinned_image(component: str) -> str:
    """The image the roles deploy by default: the pin's repository at the pinned tag."""
    return f"{PINS[component]['image']}:{PINS[component]['version']}"


def validate(objects: list[dict[str, Any]], version: str) -> tuple[list[str], list[str]]:
    """(errors, kinds without a schema): custom resources cannot be validated offline."""
    import kubernetes_validate

    errors: list[str] = []
    unvalidated: list[str] = []
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unvalidated.append(name)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{name}: {error.message} at {list(error.path)}")
    return errors, unvalidated


@pytest.mark.parametrize("version", VERSIONS)
def test_cni_manifests_are_valid(rendered: dict[str, Path], version: str) -> None:
    # Every scenario renders every plugin: different pod networks, encapsulations, registries.
    for scenario, out in rendered.items():
        for cni in CNIS:
            objects = docs(out / "cp1" / f"cni-{cni}.yaml")
            errors, unvalidated = validate(objects, version)
            assert not errors, f"{scenario}/{cni} on {version}: {errors}"
            # The manifests hold only built-in kinds (CRDs included, custom resources none),
            # so nothing is left unchecked; a custom resource added later must be
            # listed and checked on its own.
            assert not unvalidated, f"{scenario}/{cni}: no schema for {unvalidated}"


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (obj,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def container_env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container["env"]}


def test_flannel_uses_the_pod_network(rendered: dict[str, Path]) -> None:
    objects = docs(rendered["ha"] / "cp1" / "cni-flannel.yaml")
    cfg = find(objects, "ConfigMap", "kube-flannel-cfg")
    net = json.loads(cfg["data"]["net-conf.json"])
    assert net["Network"] == "10.200.0.0/16"
    assert net["Backend"] == {"Type": "vxlan"}
    json.loads(cfg["data"]["cni-conf.json"])
    ds = find(objects, "DaemonSet", "kube-flannel-ds")
    images = {c["image"] for c in ds["spec"]["template"]["spec"]["initContainers"]}
    assert images == {pinned_image("flannel_cni_plugin"), pinned_image("flannel")}


def test_calico_pool_and_encapsulation(rendered: dict[str, Path]) -> None:
    def node_env(scenario: str) -> dict[str, Any]:
        objects = docs(rendered[scenario] / "cp1" / "cni-calico.yaml")
        ds = find(objects, "DaemonSet", "calico-node")
        (container,) = ds["spec"]["template"]["spec"]["containers"]
        assert container["image"] == pinned_image("calico")
        return container_env(container)

    vxlan = node_env("ha")  # the HA sample asks for VXLAN
    assert vxlan["CALICO_IPV4POOL_CIDR"] == "10.200.0.0/16"
    assert (vxlan["CALICO_IPV4POOL_VXLAN"], vxlan["CALICO_IPV4POOL_IPIP"]) == ("Always", "Never")
    assert vxlan["CLUSTER_TYPE"] == "k8s"
    ipip = node_env("single")
    assert ipip["CALICO_IPV4POOL_CIDR"] == "10.244.0.0/16"
    assert (ipip["CALICO_IPV4POOL_VXLAN"], ipip["CALICO_IPV4POOL_IPIP"]) == ("Never", "Always")
    assert ipip["CLUSTER_TYPE"] == "k8s,bgp"
    objects = docs(rendered["single"] / "cp1" / "cni-calico.yaml")
    cni_conf = find(objects, "ConfigMap", "calico-config")["data"]["cni_network_config"]
    assert '"type": "calico-ipam"' in cni_conf
    crds = {o["metadata"]["name"] for o in objects if o["kind"] == "CustomResourceDefinition"}
    assert {"ippools.crd.projectcalico.org", "felixconfigurations.crd.projectcalico.org"} <= crds


def test_weave_uses_the_pod_network(rendered: dict[str, Path]) -> None:
    objects = docs(rendered["weave"] / "cp1" / "cni-weave.yaml")
    ds = find(objects, "DaemonSet", "weave-net")
    weave = ds["spec"]["template"]["spec"]["containers"][0]
    assert weave["image"] == pinned_image("weave")
    assert container_env(weave)["IPALLOC_RANGE"] == "10.32.0.0/12"


@pytest.mark.parametrize("cni", CNIS)
def test_every_manifest_records_the_plugin(rendered: dict[str, Path], cni: str) -> None:
    marker = find(
        docs(rendered["single"] / "cp1" / f"cni-{cni}.yaml"), "ConfigMap", "kubeprimer-cni"
    )
    assert marker["metadata"]["namespace"] == "kube-system"
    assert marker["data"]["cni"] == cni


AUDIT_LEVELS = {"None", "Metadata", "Request", "RequestResponse"}
AUDIT_STAGES = {"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"}
AUDIT_RULE_FIELDS = {
    "level",
    "users",
    "userGroups",
    "verbs",
    "resources",
    "namespaces",
    "nonResourceURLs",
    "omitStages",
    "omitManagedFields",
}
AUDIT_GROUP_FIELDS = {"group", "resources", "resourceNames"}


def audit_policy_problems(policy: dict[str, Any]) -> list[str]:
    """audit.k8s.io/v1 Policy is read from a file, not served by the API, so
    kubernetes-validate has no schema for it: this checks its fields by hand."""
    problems = []
    if (policy.get("apiVersion"), policy.get("kind")) != ("audit.k8s.io/v1", "Policy"):
        problems.append("not an audit.k8s.io/v1 Policy")
    extra = set(policy) - {
        "apiVersion",
        "kind",
        "metadata",
        "rules",
        "omitStages",
        "omitManagedFields",
    }
    problems += [f"unknown field {f}" for f in extra]
    problems += [f"unknown stage {s}" for s in set(policy.get("omitStages", [])) - AUDIT_STAGES]
    for i, rule in enumerate(policy.get("rules") or []):
        problems += [f"rule {i}: unknown field {f}" for f in set(rule) - AUDIT_RULE_FIELDS]
        if rule.get("level") not in AUDIT_LEVELS:
            problems.append(f"rule {i}: level {rule.get('level')}")
        if "resources" in rule and "nonResourceURLs" in rule:
            problems.append(f"rule {i}: resources and nonResourceURLs exclude each other")
        for group in rule.get("resources", []):
            problems += [f"rule {i}: unknown field {f}" for f in set(group) - AUDIT_GROUP_FIELDS]
    if not policy.get("rules"):
        problems.append("no rules")
    return problems


def test_audit_policy(rendered: dict[str, Path]) -> None:
    (policy,) = docs(rendered["single"] / "cp1" / "audit-policy.yaml")
    assert audit_policy_problems(policy) == []
    # Secrets are never logged with their contents: the first rule matching them says Metadata.
    for rule in policy["rules"]:
        groups = rule.get("resources", [])
        if any(g["group"] == "" and "secrets" in g["resources"] for g in groups):
            assert rule["level"] == "Metadata"
            break
    else:
        raise AssertionError("no rule covers secrets")
    assert policy["rules"][-1]["level"] in AUDIT_LEVELS


def test_audit_policy_checker_catches_mistakes() -> None:
    bad = {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "rules": [{"level": "All", "verb": []}],
    }
    assert len(audit_policy_problems(bad)) == 2
