"""CIS Kubernetes Benchmark v1.12 section 5 (policies) for what kubeprimer deploys on the
cluster: every addon in every variant its tests.yml names (rendered as
tests/unit/addons/manifests.py does for the schema tests) and every CNI plugin (rendered
by Ansible, as tests/unit/cluster/test_cni_manifests.py does).

- 5.2 (Pod Security Standards): each pod template is judged by
  kubeprimer.addons.pod_security at the level its namespace's
  pod-security.kubernetes.io/enforce label gives (what admission does), and every
  workload that is not in PRIVILEGED_WORKLOADS must meet restricted even where its
  namespace is exempt. A namespace enforces restricted unless EXEMPT_NAMESPACES says why
  not; none turns audit or warn off.
- 5.1.3 (wildcards in Roles and ClusterRoles), 5.1.1 (cluster-admin) and 5.1.8 (bind,
  escalate, impersonate): every rendered Role, ClusterRole and binding is walked.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from manifests import Case, cases, objects

from kubeprimer.addons import pod_security
from tests.unit.cluster.conftest import docs

CNIS = ("flannel", "calico", "weave")
AUDIT_LABELS = ("pod-security.kubernetes.io/audit", "pod-security.kubernetes.io/warn")

# Namespaces whose enforce level is below restricted, and why. kube-system is labelled by
# the kubeadm role (the control-plane static pods and kube-proxy live there).
EXEMPT_NAMESPACES: dict[str, str] = {
    "kube-system": "control-plane static pods, kube-proxy, Calico's and Weave's node agents",
    "kube-flannel": "flannel's node agent configures the host's network",
    "monitoring-node-exporter": "node-exporter alone",
    "logging-fluentd": "Fluentd alone",
    "metallb-system": "the speaker (its controller meets restricted)",
    "csi-nfs": "csi-driver-nfs's node plugin and controller",
    "ceph-csi": "ceph-csi's node plugins and provisioners",
    "glusterfs-provisioner": "local-path-provisioner's helper pods",
    "ingress": "hostPort with hostport exposure; HAProxy Ingress runs as root (baseline)",
}

# (namespace, workload) -> why it needs more than restricted. Everything else meets
# restricted wherever it runs.
PRIVILEGED_WORKLOADS: dict[tuple[str, str], str] = {
    ("kube-system", "calico-node"): "programs routes, iptables and BPF on the host (privileged)",
    ("kube-system", "weave-net"): "programs the host's network (privileged, hostNetwork)",
    ("kube-flannel", "kube-flannel-ds"): "programs the host's network (NET_ADMIN, hostNetwork)",
    ("monitoring-node-exporter", "node-exporter"): (
        "reads the host's /proc, /sys and file systems (hostPath) in its PID and network namespaces"
    ),
    ("logging-fluentd", "fluentd"): (
        "reads /var/log and the journal and buffers to the node's disk (hostPath), as root "
        "to read root-owned files"
    ),
    ("metallb-system", "speaker"): "answers ARP/NDP on the node's network (hostNetwork, NET_RAW)",
    ("csi-nfs", "csi-nfs-node"): "CSI node plugin: mounts volumes for pods (privileged)",
    ("csi-nfs", "csi-nfs-controller"): (
        "mounts the share to create and delete volume folders (privileged), as upstream "
        "csi-driver-nfs's controller does"
    ),
    ("ceph-csi", "rbd-nodeplugin"): "CSI node plugin: maps RBD images and mounts (privileged)",
    ("ceph-csi", "cephfs-nodeplugin"): "CSI node plugin: mounts CephFS (privileged)",
    (
        "ceph-csi",
        "rbd-provisioner",
    ): "upstream ceph-csi's provisioner mounts /dev, /sys, /lib/modules",
    ("ceph-csi", "cephfs-provisioner"): (
        "upstream ceph-csi's provisioner mounts /dev, /sys, /lib/modules"
    ),
    ("glusterfs-provisioner", "glusterfs-provisioner"): (
        "upstream local-path-provisioner's image runs as root; its helper pods (created at "
        "run time, with a hostPath on the GlusterFS mount) run in this namespace"
    ),
    ("ingress", "haproxy-ingress"): "upstream's image runs as root; hostPort with hostport",
    ("ingress", "ingress-nginx"): "hostPort 80/443 with hostport exposure",
}

# Rules with a wildcard, or the bind/escalate/impersonate verbs, that upstream documents
# as needed: (kind, name) -> reason and upstream source. None is needed today.
RBAC_EXCEPTIONS: dict[tuple[str, str], str] = {}
POWERFUL_VERBS = {"bind", "escalate", "impersonate"}


_RENDERED: dict[str, list[dict[str, Any]]] = {}


def rendered_case(case: Case) -> list[dict[str, Any]]:
    """The case's objects, rendered once for all the tests of this module (read only)."""
    if case.id not in _RENDERED:
        _RENDERED[case.id] = objects(case)
    return _RENDERED[case.id]


@pytest.fixture(scope="module", params=cases(), ids=lambda c: c.id)
def addon_objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return rendered_case(request.param)


@pytest.fixture(scope="module")
def cni_objects(rendered: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    """scenario/plugin -> the CNI manifest's objects."""
    return {
        f"{scenario}/{cni}": docs(out / "cp1" / f"cni-{cni}.yaml")
        for scenario, out in rendered.items()
        for cni in CNIS
    }


def namespaces(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == "Namespace"}


def pods(objs: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(namespace, workload name, pod template) of every object that runs pods."""
    for obj in objs:
        template = pod_security.pod_template(obj)
        if template is not None:
            yield obj["metadata"].get("namespace", ""), obj["metadata"]["name"], template


def level(namespace: str, own: dict[str, dict[str, Any]]) -> str:
    if namespace == "kube-system":
        return "privileged"
    return pod_security.namespace_level(own.get(namespace))


def pod_security_problems(objs: list[dict[str, Any]]) -> list[str]:
    """What admission would refuse, and what runs above restricted without a reason."""
    own = namespaces(objs)
    problems = []
    for namespace, name, template in pods(objs):
        at = level(namespace, own)
        problems += [
            f"{namespace}/{name} ({at}): {v}" for v in pod_security.violations(template, at)
        ]
        if (namespace, name) not in PRIVILEGED_WORKLOADS:
            problems += [
                f"{namespace}/{name} (restricted): {v}"
                for v in pod_security.violations(template, "restricted")
            ]
    return problems


def namespace_problems(objs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for name, ns in namespaces(objs).items():
        labels = ns["metadata"].get("labels") or {}
        if pod_security.ENFORCE_LABEL not in labels:
            problems.append(f"{name}: no {pod_security.ENFORCE_LABEL} label")
        elif labels[pod_security.ENFORCE_LABEL] != "restricted" and name not in EXEMPT_NAMESPACES:
            problems.append(
                f"{name}: enforces {labels[pod_security.ENFORCE_LABEL]} without a reason"
            )
        problems += [
            f"{name}: {key}={labels[key]} turns the cluster's restricted {key} off"
            for key in AUDIT_LABELS
            if labels.get(key, "restricted") != "restricted"
        ]
    return problems


def rbac_problems(objs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for obj in objs:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if (kind, name) in RBAC_EXCEPTIONS:
            continue
        if kind in ("Role", "ClusterRole"):
            for rule in obj.get("rules") or []:
                for key in ("apiGroups", "resources", "verbs", "nonResourceURLs"):
                    if any("*" in value for value in rule.get(key) or []):
                        problems.append(f"{kind} {name}: wildcard in {key} {rule[key]} (5.1.3)")
                if powerful := POWERFUL_VERBS & set(rule.get("verbs") or []):
                    problems.append(f"{kind} {name}: verbs {sorted(powerful)} (5.1.8)")
        if kind in ("RoleBinding", "ClusterRoleBinding") and obj["roleRef"]["name"] in (
            "cluster-admin",
            "admin",
            "edit",
        ):
            problems.append(f"{kind} {name}: binds {obj['roleRef']['name']} (5.1.1)")
    return problems


# 5.2.x over the addons --------------------------------------------------------------


def test_addon_pods_meet_their_namespace_level_and_restricted_unless_listed(
    addon_objects: list[dict[str, Any]],
) -> None:
    assert pod_security_problems(addon_objects) == []


def test_addon_namespaces_enforce_restricted_unless_listed_and_keep_audit_and_warn(
    addon_objects: list[dict[str, Any]],
) -> None:
    assert namespace_problems(addon_objects) == []


def test_every_pod_runs_in_a_namespace_the_addon_labels(
    addon_objects: list[dict[str, Any]],
) -> None:
    own = namespaces(addon_objects)
    assert [f"{ns}/{name}" for ns, name, _ in pods(addon_objects) if ns not in own] == []


def test_every_listed_exemption_is_still_needed() -> None:
    """A workload or namespace that no longer needs its exemption must lose it."""
    needed: set[tuple[str, str]] = set()
    exempt_in_use: set[str] = set()
    for case in cases():
        objs = rendered_case(case)
        for namespace, name, template in pods(objs):
            if pod_security.violations(template, "restricted"):
                needed.add((namespace, name))
        exempt_in_use |= {
            n
            for n, ns in namespaces(objs).items()
            if ns["metadata"]["labels"].get(pod_security.ENFORCE_LABEL) != "restricted"
        }
    addon_workloads = {
        k for k in PRIVILEGED_WORKLOADS if k[0] not in ("kube-system", "kube-flannel")
    }
    assert addon_workloads - needed == set()
    addon_namespaces = set(EXEMPT_NAMESPACES) - {"kube-system", "kube-flannel"}
    assert addon_namespaces - exempt_in_use == set()


def test_unprivileged_workloads_were_split_from_privileged_ones() -> None:
    """node-exporter and Fluentd have namespaces of their own; what they left is restricted."""
    defaults = {c.addon: rendered_case(c) for c in cases() if c.variant == "defaults"}
    for addon, namespace, privileged in (
        ("monitoring", "monitoring", "monitoring-node-exporter"),
        ("logging", "logging", "logging-fluentd"),
    ):
        own = namespaces(defaults[addon])
        assert pod_security.namespace_level(own[namespace]) == "restricted"
        assert pod_security.namespace_level(own[privileged]) == "privileged"
        assert {ns for ns, _, _ in pods(defaults[addon])} == {namespace, privileged}


# 5.1.x over the addons --------------------------------------------------------------


def test_addon_rbac_is_least_privilege(addon_objects: list[dict[str, Any]]) -> None:
    assert rbac_problems(addon_objects) == []


# The CNI plugins -------------------------------------------------------------------


def test_cni_pods_meet_their_namespace_level_and_restricted_unless_listed(
    cni_objects: dict[str, list[dict[str, Any]]],
) -> None:
    for where, objs in cni_objects.items():
        assert pod_security_problems(objs) == [], where
        assert namespace_problems(objs) == [], where


def test_cni_rbac_is_least_privilege(cni_objects: dict[str, list[dict[str, Any]]]) -> None:
    for where, objs in cni_objects.items():
        assert rbac_problems(objs) == [], where


# The checks can fail ------------------------------------------------------------------


def demo_frontend() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    (case,) = [c for c in cases() if c.id == "demo-secret"]
    objs = copy.deepcopy(rendered_case(case))
    (frontend,) = [
        o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "frontend"
    ]
    return objs, frontend


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda pod: pod["securityContext"].pop("seccompProfile"), "seccompProfile"),
        (lambda pod: pod["securityContext"].update(runAsNonRoot=False), "runAsNonRoot"),
        (
            lambda pod: pod["containers"][0]["securityContext"].update(
                allowPrivilegeEscalation=True
            ),
            "allowPrivilegeEscalation",
        ),
        (
            lambda pod: pod["containers"][0]["securityContext"]["capabilities"].update(
                add=["NET_ADMIN"]
            ),
            "adds capabilities NET_ADMIN",
        ),
        (lambda pod: pod["volumes"].append({"name": "h", "hostPath": {"path": "/"}}), "hostPath"),
        (lambda pod: pod.update(hostNetwork=True), "hostNetwork"),
        (
            lambda pod: pod["containers"][0]["ports"][0].update(hostPort=8080),
            "hostPort 8080",
        ),
    ],
)
def test_a_pod_that_breaks_restricted_fails(change: Any, expected: str) -> None:
    objs, frontend = demo_frontend()
    assert pod_security_problems(objs) == []
    change(frontend["spec"]["template"]["spec"])
    problems = pod_security_problems(objs)
    assert problems and all(expected in p for p in problems), problems


def test_baseline_refuses_what_a_privileged_namespace_admits() -> None:
    _, frontend = demo_frontend()
    pod = frontend["spec"]["template"]
    pod["spec"]["containers"][0]["securityContext"]["privileged"] = True
    pod["spec"]["hostPID"] = True
    assert pod_security.violations(pod, "privileged") == []
    found = pod_security.violations(pod, "baseline")
    assert "hostPID: true" in found and "container frontend: privileged" in found


def test_a_namespace_that_drops_restricted_or_audit_fails() -> None:
    objs, _ = demo_frontend()
    (ns,) = [o for o in objs if o["kind"] == "Namespace"]
    ns["metadata"]["labels"][pod_security.ENFORCE_LABEL] = "baseline"
    ns["metadata"]["labels"]["pod-security.kubernetes.io/warn"] = "privileged"
    assert len(namespace_problems(objs)) == 2


def test_rbac_wildcards_powerful_verbs_and_cluster_admin_fail() -> None:
    role = {
        "kind": "ClusterRole",
        "metadata": {"name": "r"},
        "rules": [{"apiGroups": [""], "resources": ["pods/*"], "verbs": ["get", "bind"]}],
    }
    binding = {
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "b"},
        "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
    }
    problems = rbac_problems([role, binding])
    assert [p.split("(")[-1] for p in problems] == ["5.1.3)", "5.1.8)", "5.1.1)"]
