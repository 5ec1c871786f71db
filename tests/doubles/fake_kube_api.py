"""FakeKubeApi: a TEST DOUBLE of the Kubernetes API server, in memory, over real HTTP.

kube-apiserver cannot be had on the development and CI machines, so tests of code that
talks to a cluster (addon install/remove/status, the Vault injector...) run the real
``kubernetes`` Python client against this double instead. It speaks the parts of the
API such code uses, the way the real server does:

- discovery: ``/version``, ``/api``, ``/apis``, ``/api/v1``, ``/apis/GROUP/VERSION``;
  a CustomResourceDefinition that is applied adds its kind to discovery, a deleted one
  removes it (and its objects);
- objects: GET, LIST (with ``labelSelector``), server-side apply (PATCH with
  ``application/apply-patch+yaml``; ``fieldManager`` required), POST (create), DELETE;
  namespaced objects need their Namespace to exist, deleting a Namespace deletes
  what is in it; an apply that changes nothing keeps the resourceVersion, like the
  real server; bearer-token authentication;
- CertificateSigningRequests and their ``approval`` subresource (PUT): only the
  Approved/Denied conditions are taken from the body, and the body's uid and
  resourceVersion must be the stored object's (409 otherwise), as on the real server;
- authorization: ``policy(verb, group, resource, namespace)`` decides each write
  (create, patch, delete; an apply that creates needs create too) with RBAC's 403, and
  answers SelfSubjectAccessReviews (POST, not stored). ``review_policy`` answers the
  reviews instead, for a server whose writes fail although the review allowed them
  (an admission webhook). Reads are always allowed; by default everything is.

- nodes, drains and readiness (what ``kubeprimer.cluster.drain`` uses): LIST pods with
  ``fieldSelector=spec.nodeName=NODE``; PATCH with a JSON merge patch or a strategic
  merge patch (the ``kubernetes`` client's default; maps merge, null removes a key), as
  ``kubectl cordon`` sends ``spec.unschedulable``; POST ``pods/NAME/eviction`` (listed in
  discovery as the policy/v1 Eviction subresource) deletes the pod unless a
  PodDisruptionBudget with ``status.disruptionsAllowed: 0`` selects it: then 429 with
  the real server's message and cause (and ``Retry-After`` when ``retry_after`` is set),
  500 when two budgets select it; an allowed eviction takes one from the budget's
  ``disruptionsAllowed``, as the real server does. Under the test's control:
  ``add_node``/``add_pod``/``add_budget`` seed objects, ``budget_release`` makes a budget
  allow one disruption after N refusals (its controller catching up), ``not_ready``
  keeps nodes NotReady on every read, ``ready_after`` answers NotReady for a node's
  next N reads (a kubelet restarting), ``set_ready`` sets the Ready condition.
- pods' readiness (what cluster.status shows of the control plane's static pods):
  ``set_pod_ready`` sets a pod's Ready condition, as its kubelet would.
- replace (PUT of an object, what ``kubectl replace`` and cluster.rotate-encryption-key's
  Secret rewrite send): the body's resourceVersion must be the stored one (409 Conflict
  otherwise, as on the real server); LIST takes ``limit`` and ``continue`` (pages).
  Encryption at rest is modelled by key name only: each write records
  ``encryption_key`` (the first key of the servers' configuration) in ``encrypted_with``,
  and a replace that changes nothing is written only when the object was stored under
  another key (the real storage layer's "stale" read), so ``replaced`` counts real writes.
  ``conflict_once`` ("NAMESPACE/NAME") makes the next replace of an object meet a write
  of another client first, so it gets 409.

What it does NOT do: field ownership merging between several managers (an apply
replaces the object's content), admission, defaulting, watches, real scheduling.
Workload status is simulated and under the test's control: each GET of a Deployment,
StatefulSet, DaemonSet or Job brings ``rollout_step`` more replicas to ready (0: stuck);
names in ``stuck`` never become ready.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

TOKEN = "fake-kube-api-token"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")
# What `kubectl drain` and the `kubernetes` client's patch() send.
MERGE_PATCHES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
# The real discovery entry of the subresource that evicts a pod.
EVICTION = {
    "name": "pods/eviction",
    "singularName": "",
    "namespaced": True,
    "group": "policy",
    "version": "v1",
    "kind": "Eviction",
    "verbs": ["create"],
}


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


# RBAC names the eviction subresource "pods/eviction" in the core group.
EVICTIONS = Kind("", "v1", "pods/eviction", "Eviction", True)


def _builtin() -> list[Kind]:
    table = {
        ("", "v1"): [
            ("namespaces", "Namespace", False),
            ("configmaps", "ConfigMap", True),
            ("secrets", "Secret", True),
            ("services", "Service", True),
            ("serviceaccounts", "ServiceAccount", True),
            ("persistentvolumeclaims", "PersistentVolumeClaim", True),
            ("persistentvolumes", "PersistentVolume", False),
            ("pods", "Pod", True),
            ("nodes", "Node", False),
        ],
        ("apps", "v1"): [
            ("deployments", "Deployment", True),
            ("daemonsets", "DaemonSet", True),
            ("statefulsets", "StatefulSet", True),
        ],
        ("batch", "v1"): [("jobs", "Job", True), ("cronjobs", "CronJob", True)],
        ("rbac.authorization.k8s.io", "v1"): [
            ("clusterroles", "ClusterRole", False),
            ("clusterrolebindings", "ClusterRoleBinding", False),
            ("roles", "Role", True),
            ("rolebindings", "RoleBinding", True),
        ],
        ("storage.k8s.io", "v1"): [
            ("storageclasses", "StorageClass", False),
            ("csidrivers", "CSIDriver", False),
        ],
        ("policy", "v1"): [("poddisruptionbudgets", "PodDisruptionBudget", True)],
        ("networking.k8s.io", "v1"): [
            ("ingresses", "Ingress", True),
            ("ingressclasses", "IngressClass", False),
            ("networkpolicies", "NetworkPolicy", True),
        ],
        ("apiextensions.k8s.io", "v1"): [
            ("customresourcedefinitions", "CustomResourceDefinition", False)
        ],
        ("admissionregistration.k8s.io", "v1"): [
            ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False),
            ("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False),
        ],
        ("scheduling.k8s.io", "v1"): [("priorityclasses", "PriorityClass", False)],
        ("coordination.k8s.io", "v1"): [("leases", "Lease", True)],
        ("certificates.k8s.io", "v1"): [
            ("certificatesigningrequests", "CertificateSigningRequest", False)
        ],
        ("authorization.k8s.io", "v1"): [
            ("selfsubjectaccessreviews", "SelfSubjectAccessReview", False)
        ],
    }
    return [Kind(g, v, p, k, n) for (g, v), rows in table.items() for p, k, n in rows]


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details: dict[str, Any] = {}
        self.headers: dict[str, str] = {}


class TooManyRequests(ApiError):
    """The eviction subresource's 429: a budget allows no disruption now."""

    def __init__(self, message: str, cause: str, retry_after: int) -> None:
        super().__init__(429, "TooManyRequests", message)
        self.details = {"causes": [{"reason": "DisruptionBudget", "message": cause}]}
        if retry_after:
            self.details["retryAfterSeconds"] = retry_after
            self.headers = {"Retry-After": str(retry_after)}


def _named(api_version: str, kind: str, name: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}


def _matches(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _fields_match(obj: dict[str, Any], selector: str) -> bool:
    """A fieldSelector of ``path=value`` terms (``spec.nodeName=n1``, ``metadata.name=x``)."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        path, want = term.replace("==", "=").split("=", 1)
        value: Any = obj
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if str(value or "") != want:
            return False
    return True


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 merge: maps merge, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A budget's LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists...)."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        value, values = labels.get(e["key"]), e.get("values") or []
        held = {
            "In": value in values,
            "NotIn": value not in values,
            "Exists": e["key"] in labels,
            "DoesNotExist": e["key"] not in labels,
        }
        if not held.get(e["operator"], False):
            return False
    return True


# (verb, group, resource, namespace) -> allowed; namespace "" for cluster-scoped.
Policy = Callable[[str, str, str, str], bool]


@dataclass
class FakeKubeApi:
    """The double's state; ``serve()`` runs it on 127.0.0.1 and yields a kubeconfig."""

    rollout_step: int = 1000
    nodes: int = 3
    stuck: set[str] = field(default_factory=set)
    kinds: list[Kind] = field(default_factory=_builtin)
    objects: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    policy: Policy | None = None
    review_policy: Policy | None = None
    budget_release: dict[str, int] = field(default_factory=dict)
    not_ready: set[str] = field(default_factory=set)
    ready_after: dict[str, int] = field(default_factory=dict)
    retry_after: int = 0
    encryption_key: str = "key1"
    encrypted_with: dict[str, str] = field(default_factory=dict)
    replaced: dict[str, int] = field(default_factory=dict)
    conflict_once: set[str] = field(default_factory=set)
    _refusals: dict[str, int] = field(default_factory=dict)
    _revision: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        # Every real cluster has these before anything is installed.
        namespaces = self.resolve("/api/v1/namespaces")[0]
        for name in ("default", "kube-system", "kube-public"):
            meta = {"name": name}
            self.create(namespaces, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": meta})

    # -- discovery -------------------------------------------------------------------
    def _group_versions(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for k in self.kinds:
            if k.group and k.version not in groups.setdefault(k.group, []):
                groups[k.group].append(k.version)
        return groups

    def discovery(self, path: str) -> dict[str, Any] | None:
        if path == "/version":
            return {"major": "1", "minor": "37", "gitVersion": "v1.37.0", "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            groups = []
            for name, versions in sorted(self._group_versions().items()):
                gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
                groups.append({"name": name, "versions": gvs, "preferredVersion": gvs[0]})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        parts = path.strip("/").split("/")
        if parts == ["api", "v1"] or (len(parts) == 3 and parts[0] == "apis"):
            group, version = ("", "v1") if parts[0] == "api" else (parts[1], parts[2])
            kinds = [k for k in self.kinds if (k.group, k.version) == (group, version)]
            if not kinds:
                return None
            resources = [
                {
                    "name": k.plural,
                    "singularName": k.kind.lower(),
                    "namespaced": k.namespaced,
                    "kind": k.kind,
                    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                }
                for k in kinds
            ]
            gv = f"{group}/{version}" if group else version
            if (group, version) == ("", "v1"):
                resources.append(EVICTION)
            return {"kind": "APIResourceList", "groupVersion": gv, "resources": resources}
        return None

    # -- addressing ------------------------------------------------------------------
    def resolve(self, path: str) -> tuple[Kind, str, str]:
        """(kind, namespace, name) for an object or collection path."""
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", f"the server could not find {path}")
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name = rest[0], rest[1] if len(rest) > 1 else ""
        for k in self.kinds:
            if (k.group, k.version, k.plural) == (group, version, plural):
                return k, namespace, name
        raise ApiError(404, "NotFound", f"the server could not find the requested resource {path}")

    def _key(self, kind: Kind, namespace: str, name: str) -> tuple[str, str, str, str]:
        return (kind.group, kind.plural, namespace if kind.namespaced else "", name)

    # -- verbs -----------------------------------------------------------------------
    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        obj = self.objects.get(self._key(kind, namespace, name))
        if obj is None:
            raise ApiError(404, "NotFound", f'{kind.plural} "{name}" not found')
        if kind.kind in WORKLOADS:
            self._advance(obj)
        if kind.kind == "Node":
            self._kubelet(obj)
        return copy.deepcopy(obj)

    def list(self, kind: Kind, namespace: str, selector: str, fields: str = "") -> dict[str, Any]:
        items = [
            copy.deepcopy(o)
            for (g, p, ns, _), o in sorted(self.objects.items())
            if (g, p) == (kind.group, kind.plural)
            and (not namespace or ns == namespace)
            and _matches(o["metadata"].get("labels") or {}, selector)
            and _fields_match(o, fields)
        ]
        meta = {"resourceVersion": str(self._revision)}
        return {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": meta,
            "items": items,
        }

    def apply(
        self, kind: Kind, namespace: str, name: str, body: dict[str, Any], query: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if not query.get("fieldManager"):
            raise ApiError(400, "BadRequest", "PATCH apply requires fieldManager to be set")
        meta = body.get("metadata") or {}
        if body.get("kind") != kind.kind or body.get("apiVersion") != kind.api_version:
            raise ApiError(400, "BadRequest", f"apply body is {body.get('kind')}, not {kind.kind}")
        if meta.get("name") != name or (
            kind.namespaced and meta.get("namespace", namespace) != namespace
        ):
            raise ApiError(
                400, "BadRequest", "the name or namespace of the body does not match the URL"
            )
        if kind.namespaced and not self.objects.get(("", "namespaces", "", namespace)):
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')
        key = self._key(kind, namespace, name)
        old = self.objects.get(key)
        applied = copy.deepcopy(body)
        if kind.namespaced:
            applied["metadata"]["namespace"] = namespace
        if old is not None:
            if old.get("_applied") == applied:
                return 200, self._public(old)
            manager = old["metadata"]["managedFields"][0]["manager"]
            if manager != query["fieldManager"] and query.get("force") != "true":
                raise ApiError(
                    409, "Conflict", f"Apply failed with 1 conflict: conflict with {manager!r}"
                )
        return (200 if old else 201), self._public(
            self._store(key, kind, applied, old, query["fieldManager"])
        )

    def create(self, kind: Kind, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = (body.get("metadata") or {}).get("name", "")
        key = self._key(kind, namespace, name)
        if key in self.objects:
            raise ApiError(409, "AlreadyExists", f'{kind.plural} "{name}" already exists')
        body = copy.deepcopy(body)
        if kind.namespaced:
            body["metadata"]["namespace"] = namespace
        return self._public(self._store(key, kind, body, None, "kubectl-create"))

    def delete(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        key = self._key(kind, namespace, name)
        if key not in self.objects:
            raise ApiError(404, "NotFound", f'{kind.plural} "{name}" not found')
        obj = self.objects.pop(key)
        if kind.kind == "Namespace":
            for k in [k for k in self.objects if k[2] == name]:
                del self.objects[k]
        if kind.kind == "CustomResourceDefinition":
            spec = obj["spec"]
            gone = {(spec["group"], spec["names"]["plural"])}
            self.kinds = [k for k in self.kinds if (k.group, k.plural) not in gone]
            for k in [k for k in self.objects if (k[0], k[1]) in gone]:
                del self.objects[k]
        return {"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}

    def approval(self, kind: Kind, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT .../certificatesigningrequests/NAME/approval: the decision, nothing else."""
        if kind.kind != "CertificateSigningRequest":
            raise ApiError(404, "NotFound", f"{kind.plural} have no approval subresource")
        key = self._key(kind, "", name)
        obj = self.objects.get(key)
        if obj is None:
            raise ApiError(404, "NotFound", f'{kind.plural} "{name}" not found')
        meta = body.get("metadata") or {}
        if meta.get("uid") and meta["uid"] != obj["metadata"]["uid"]:
            raise ApiError(
                409, "Conflict", f"Precondition failed: UID in precondition: {meta['uid']}"
            )
        if meta.get("resourceVersion") != obj["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        conditions = (body.get("status") or {}).get("conditions") or []
        types = {c.get("type") for c in conditions}
        if not types <= {"Approved", "Denied", "Failed"} or {"Approved", "Denied"} <= types:
            raise ApiError(422, "Invalid", "conditions must be Approved or Denied, not both")
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)
        obj.setdefault("status", {})["conditions"] = copy.deepcopy(conditions)
        return self._public(obj)

    # -- helpers ---------------------------------------------------------------------
    def _store(
        self,
        key: Any,
        kind: Kind,
        applied: dict[str, Any],
        old: dict[str, Any] | None,
        manager: str,
    ) -> dict[str, Any]:
        self._revision += 1
        obj = copy.deepcopy(applied)
        meta = obj["metadata"]
        old_meta = (old or {}).get("metadata", {})
        meta["uid"] = old_meta.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = old_meta.get("creationTimestamp") or "2026-01-01T00:00:00Z"
        meta["resourceVersion"] = str(self._revision)
        spec_changed = old is None or (old.get("_applied") or {}).get("spec") != applied.get("spec")
        meta["generation"] = old_meta.get("generation", 0) + (1 if spec_changed else 0)
        meta["managedFields"] = [
            {"manager": manager, "operation": "Apply", "apiVersion": kind.api_version}
        ]
        obj["_applied"] = applied
        if old is not None and "status" in old:
            obj["status"] = old["status"]
        if kind.kind in WORKLOADS and spec_changed:
            obj["status"] = {"observedGeneration": meta["generation"], "_ready": 0}
        if kind.kind == "CustomResourceDefinition":
            self._register_crd(obj)
        self.objects[key] = obj
        self.encrypted_with[_ref(kind, key[2], key[3])] = self.encryption_key
        return obj

    def _register_crd(self, crd: dict[str, Any]) -> None:
        spec = crd["spec"]
        for v in spec["versions"]:
            k = Kind(
                spec["group"],
                v["name"],
                spec["names"]["plural"],
                spec["names"]["kind"],
                spec["scope"] == "Namespaced",
            )
            if k not in self.kinds:
                self.kinds.append(k)
        crd["status"] = {
            "conditions": [
                {"type": "Established", "status": "True"},
                {"type": "NamesAccepted", "status": "True"},
            ]
        }

    def _public(self, obj: dict[str, Any]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in obj.items() if k != "_applied"}
        if isinstance(out.get("status"), dict):
            out["status"] = {k: v for k, v in out["status"].items() if not k.startswith("_")}
        return out

    def _advance(self, obj: dict[str, Any]) -> None:
        """Simulated controllers: every look at a workload moves its rollout along."""
        status = obj.setdefault("status", {"_ready": 0})
        name = f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
        kind, spec = obj["kind"], obj.get("spec") or {}
        want = (
            self.nodes if kind == "DaemonSet" else 1 if kind == "Job" else spec.get("replicas", 1)
        )
        step = 0 if name in self.stuck else self.rollout_step
        ready = min(want, status.get("_ready", 0) + step)
        status["_ready"] = ready
        gen = obj["metadata"]["generation"]
        if kind == "Deployment":
            status.update(
                observedGeneration=gen,
                replicas=want,
                updatedReplicas=want,
                readyReplicas=ready,
                availableReplicas=ready,
            )
        elif kind == "StatefulSet":
            status.update(
                observedGeneration=gen,
                replicas=want,
                updatedReplicas=want,
                readyReplicas=ready,
                availableReplicas=ready,
                currentRevision="r1",
                updateRevision="r1",
            )
        elif kind == "DaemonSet":
            status.update(
                observedGeneration=gen,
                desiredNumberScheduled=want,
                currentNumberScheduled=want,
                updatedNumberScheduled=want,
                numberReady=ready,
                numberAvailable=ready,
            )
        else:
            status.update(succeeded=ready)

    # -- authorization ---------------------------------------------------------------
    def allowed(self, verb: str, kind: Kind, namespace: str) -> bool:
        return self.policy is None or self.policy(verb, kind.group, kind.plural, namespace)

    def authorize(self, verb: str, kind: Kind, namespace: str) -> None:
        """RBAC's answer to a write the policy does not allow."""
        if not self.allowed(verb, kind, namespace):
            where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            group = f' in API group "{kind.group}"' if kind.group else ' in API group ""'
            raise ApiError(
                403,
                "Forbidden",
                f'{kind.plural} is forbidden: User "viewer" cannot {verb} resource '
                f'"{kind.plural}"{group}{where}',
            )

    def review(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST .../selfsubjectaccessreviews: whether this user may, as RBAC would say."""
        attributes = (body.get("spec") or {}).get("resourceAttributes") or {}
        verb, group, plural, namespace = (
            str(attributes.get(key) or "") for key in ("verb", "group", "resource", "namespace")
        )
        decide = self.review_policy or self.policy
        allowed = decide is None or decide(verb, group, plural, namespace)
        return {**body, "status": {"allowed": allowed}}

    def find(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """For assertions: the stored object of ``kind`` (e.g. "Deployment"), or None."""
        for (_, _, ns, n), obj in self.objects.items():
            if obj["kind"] == kind and ns == namespace and n == name:
                return self._public(obj)
        return None

    # -- replace and pages -----------------------------------------------------------
    def replace(
        self, kind: Kind, namespace: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """PUT of an object: the whole object, guarded by its resourceVersion."""
        key, old = self._existing(kind, namespace, name)
        meta = body.get("metadata") or {}
        if meta.get("name") != name:
            raise ApiError(400, "BadRequest", "the name of the body does not match the URL")
        ref = _ref(kind, key[2], name)
        if f"{key[2]}/{name}" in self.conflict_once:
            self.conflict_once.discard(f"{key[2]}/{name}")
            self._store(key, kind, old["_applied"], old, "another-client")
            old = self.objects[key]
        if (
            meta.get("resourceVersion")
            and meta["resourceVersion"] != old["metadata"]["resourceVersion"]
        ):
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind.plural} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
            )
        applied = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("_applied", "status")}
        applied["metadata"] = {k: v for k, v in meta.items() if k not in SERVER_FIELDS}
        if kind.namespaced:
            applied["metadata"]["namespace"] = namespace
        stale = self.encrypted_with.get(ref) != self.encryption_key
        if applied == old["_applied"] and not stale:
            return self._public(old)
        manager = old["metadata"]["managedFields"][0]["manager"]
        stored = self._store(key, kind, applied, old, manager)
        self.replaced[ref] = self.replaced.get(ref, 0) + 1
        return self._public(stored)

    def _existing(
        self, kind: Kind, namespace: str, name: str
    ) -> tuple[tuple[str, str, str, str], dict[str, Any]]:
        """The stored object's key and the object, or the real server's 404."""
        key = self._key(kind, namespace, name)
        old = self.objects.get(key)
        if old is None:
            raise ApiError(404, "NotFound", f'{kind.plural} "{name}" not found')
        return key, old

    def page(self, listed: dict[str, Any], limit: str, token: str) -> dict[str, Any]:
        """One page of a LIST: ``limit`` items from the ``continue`` token on."""
        if not limit:
            return listed
        start, size = int(token or 0), int(limit)
        items = listed["items"]
        listed["items"] = items[start : start + size]
        if start + size < len(items):
            listed["metadata"]["continue"] = str(start + size)
        return listed

    # -- nodes, evictions, budgets ---------------------------------------------------
    def _put(self, api_version: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        plural = next(k for k in self.kinds if k.kind == kind and k.api_version == api_version)
        namespace = body["metadata"].get("namespace", "")
        if plural.namespaced and not self.objects.get(("", "namespaces", "", namespace)):
            self.create(
                self.resolve("/api/v1/namespaces")[0], "", _named("v1", "Namespace", namespace)
            )
        return self.create(plural, namespace, {"apiVersion": api_version, "kind": kind, **body})

    def add_node(self, name: str, ready: bool = True) -> dict[str, Any]:
        """A registered Node, Ready or not, schedulable."""
        with self._lock:
            self._put("v1", "Node", {"metadata": {"name": name}, "spec": {}})
            return self.set_ready(name, ready)

    def set_ready(self, name: str, ready: bool, message: str = "") -> dict[str, Any]:
        """Set the node's Ready condition, as its kubelet would report it."""
        with self._lock:
            obj = self.objects[("", "nodes", "", name)]
            said = message or (
                "kubelet is posting ready status" if ready else "container runtime is down"
            )
            obj["status"] = {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True" if ready else "False",
                        "reason": "KubeletReady" if ready else "KubeletNotReady",
                        "message": said,
                    }
                ]
            }
            return self._public(obj)

    def set_pod_ready(self, namespace: str, name: str, ready: bool) -> dict[str, Any]:
        """Set a pod's Ready condition, as its kubelet would report it (cluster.status)."""
        with self._lock:
            obj = self.objects[("", "pods", namespace, name)]
            obj["status"]["conditions"] = [{"type": "Ready", "status": str(ready)}]
            return self._public(obj)

    def add_pod(
        self,
        namespace: str,
        name: str,
        node: str,
        labels: dict[str, str] | None = None,
        owner: str = "ReplicaSet",
        mirror: bool = False,
        empty_dir: bool = False,
    ) -> dict[str, Any]:
        """A pod bound to ``node``, controlled by an ``owner`` of that kind ("" for none)."""
        meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
        if owner:
            meta["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": owner,
                    "name": f"{name}-owner",
                    "uid": "o-" + name,
                    "controller": True,
                }
            ]
        if mirror:
            meta["annotations"] = {"kubernetes.io/config.mirror": "hash-" + name}
        spec: dict[str, Any] = {"nodeName": node, "containers": [{"name": "c", "image": "app"}]}
        if empty_dir:
            spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
        with self._lock:
            return self._put(
                "v1", "Pod", {"metadata": meta, "spec": spec, "status": {"phase": "Running"}}
            )

    def add_budget(
        self, namespace: str, name: str, match_labels: dict[str, str], allowed: int = 0
    ) -> dict[str, Any]:
        """A PodDisruptionBudget whose controller reports ``allowed`` disruptions."""
        body = {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": match_labels}},
        }
        with self._lock:
            self._put("policy/v1", "PodDisruptionBudget", body)
            obj = self.objects[("policy", "poddisruptionbudgets", namespace, name)]
            obj["status"] = {
                "disruptionsAllowed": allowed,
                "currentHealthy": 1,
                "desiredHealthy": 1,
                "expectedPods": 1,
            }
            return self._public(obj)

    def merge_patch(
        self, kind: Kind, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        """A merge patch of the stored object (status stays, as on the main resource)."""
        key, old = self._existing(kind, namespace, name)
        patch = {k: v for k, v in patch.items() if k != "status"}
        merged = _merge(old.get("_applied") or {}, patch)
        if merged == old.get("_applied"):
            return self._public(old)
        manager = old["metadata"]["managedFields"][0]["manager"]
        return self._public(self._store(key, kind, merged, old, manager))

    def evict(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST pods/NAME/eviction: what the real server's eviction REST handler answers."""
        pods = self.resolve("/api/v1/pods")[0]
        pod = self.objects.get(self._key(pods, namespace, name))
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        if (body.get("metadata") or {}).get("name") != name:
            raise ApiError(400, "BadRequest", "name in URL does not match name in Eviction object")
        labels = pod["metadata"].get("labels") or {}
        budgets = [
            o
            for (g, p, ns, _), o in sorted(self.objects.items())
            if (g, p) == ("policy", "poddisruptionbudgets")
            and ns == namespace
            and _selects((o.get("spec") or {}).get("selector"), labels)
        ]
        if len(budgets) > 1:
            raise ApiError(
                500,
                "InternalError",
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            )
        if budgets:
            self._disrupt(budgets[0])
        self.delete(pods, namespace, name)
        return 201, {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "code": 201,
        }

    def _disrupt(self, budget: dict[str, Any]) -> None:
        """Take one disruption from the budget, or refuse with 429 as the real server does."""
        ref = f"{budget['metadata']['namespace']}/{budget['metadata']['name']}"
        status = budget.setdefault("status", {})
        if status.get("disruptionsAllowed", 0) > 0:
            status["disruptionsAllowed"] -= 1
            self._refusals.pop(ref, None)
            return
        self._refusals[ref] = self._refusals.get(ref, 0) + 1
        if ref in self.budget_release and self._refusals[ref] >= self.budget_release[ref]:
            status["disruptionsAllowed"] = 1  # its controller saw a replacement pod Ready
        cause = (
            f"The disruption budget {budget['metadata']['name']} needs "
            f"{status.get('desiredHealthy', 0)} healthy pods and has "
            f"{status.get('currentHealthy', 0)} currently"
        )
        raise TooManyRequests(
            "Cannot evict pod as it would violate the pod's disruption budget.",
            cause,
            self.retry_after,
        )

    def _kubelet(self, node: dict[str, Any]) -> None:
        """Simulated kubelet: NotReady while the test says so."""
        name = node["metadata"]["name"]
        if name in self.not_ready:
            self.set_ready(name, False)
        elif self.ready_after.get(name, 0) > 0:
            self.ready_after[name] -= 1
            self.set_ready(name, self.ready_after[name] == 0, "kubelet is restarting")
        node["status"] = self.objects[("", "nodes", "", name)].get("status", {})

    # -- serving ---------------------------------------------------------------------
    @contextmanager
    def serve(self, workdir: Path) -> Iterator[Path]:
        """Run the double on a free loopback port; yields a kubeconfig file pointing at it."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        kubeconfig = workdir / "fake-kube-api.kubeconfig"
        url = f"http://127.0.0.1:{server.server_address[1]}"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": url}}],
                    "users": [{"name": "fake", "user": {"token": TOKEN}}],
                    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                    "current-context": "fake",
                }
            )
        )
        try:
            yield kubeconfig
        finally:
            server.shutdown()
            server.server_close()


def _handler(api: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

        def _send(
            self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                raw = self._chunked()  # kubectl streams a body read from stdin
            else:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
            return yaml.safe_load(raw) if raw else {}

        def _chunked(self) -> bytes:
            raw = b""
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                raw += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers, up to the empty line
                pass
            return raw

        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            with api._lock:
                api.requests.append((method, url.path))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, _error(401, "Unauthorized", "Unauthorized"))
                    return
                try:
                    self._send(*self._dispatch(method, url.path, query))
                except ApiError as e:
                    error = _error(e.code, e.reason, e.message)
                    if e.details:
                        error["details"] = {"name": "", "kind": "pods", **e.details}
                    self._send(e.code, error, e.headers)

        def _dispatch(
            self, method: str, path: str, query: dict[str, str]
        ) -> tuple[int, dict[str, Any]]:
            if method == "GET":
                found = api.discovery(path)
                if found is not None:
                    return 200, found
            kind, namespace, name = api.resolve(path)
            if method == "GET":
                if name:
                    return 200, api._public(api.get(kind, namespace, name))
                listed = api.list(
                    kind, namespace, query.get("labelSelector", ""), query.get("fieldSelector", "")
                )
                return 200, api.page(listed, query.get("limit", ""), query.get("continue", ""))
            if method == "POST" and kind.kind == "SelfSubjectAccessReview":
                return 201, api.review(self._body())
            if method == "PATCH" and name and self.headers.get("Content-Type") in MERGE_PATCHES:
                api.authorize("patch", kind, namespace)
                return 200, api.merge_patch(kind, namespace, name, self._body())
            if method == "POST" and path.endswith(f"/pods/{name}/eviction"):
                api.authorize("create", EVICTIONS, namespace)
                return api.evict(namespace, name, self._body())
            if method == "PATCH" and name:
                if self.headers.get("Content-Type") != "application/apply-patch+yaml":
                    raise ApiError(
                        415, "UnsupportedMediaType", "the double only takes server-side apply"
                    )
                api.authorize("patch", kind, namespace)
                if api._key(kind, namespace, name) not in api.objects:
                    api.authorize("create", kind, namespace)
                return api.apply(kind, namespace, name, self._body(), query)
            if method == "POST" and not name:
                api.authorize("create", kind, namespace)
                return 201, api.create(kind, namespace, self._body())
            if method == "PUT" and path.endswith(f"/{name}/approval"):
                return 200, api.approval(kind, name, self._body())
            if method == "PUT" and name:
                api.authorize("update", kind, namespace)
                return 200, api.replace(kind, namespace, name, self._body())
            if method == "DELETE" and name:
                self._body()
                api.authorize("delete", kind, namespace)
                return 200, api.delete(kind, namespace, name)
            raise ApiError(
                405, "MethodNotAllowed", f"{method} {path} is not supported by the double"
            )

        def do_GET(self) -> None:
            self._serve("GET")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


def _ref(kind: Kind, namespace: str, name: str) -> str:
    """How ``encrypted_with`` and ``replaced`` name an object: PLURAL/NAMESPACE/NAME."""
    return f"{kind.plural}/{namespace}/{name}"


def _error(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
