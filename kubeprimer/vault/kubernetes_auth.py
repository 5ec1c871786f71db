"""Point Vault/OpenBao's kubernetes auth method at a live cluster.

Vault checks each pod's service-account token by calling the cluster's TokenReview API.
For that it needs the API server's address and CA, and a token of its own that may call
TokenReview: a service account bound to ``system:auth-delegator``, with a long-lived
token Secret (Kubernetes no longer makes those by itself). All of it comes from the
live cluster through the ``kubernetes`` client; nothing is copied by hand.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeprimer.errors import UserError, raise_if
from kubeprimer.vault.config import auth_mount_problems
from kubeprimer.vault.connect import denied, reason

REVIEWER = "vault-token-reviewer"
FIELD_MANAGER = "kubeprimer"


@dataclass(frozen=True)
class Wiring:
    """What was written; the reviewer token itself is never part of it."""

    host: str
    mount: str
    namespace: str
    service_account: str
    objects: dict[str, str]


def reviewer_objects(namespace: str, name: str = REVIEWER) -> list[dict[str, Any]]:
    """The namespace, the service account, its auth-delegator binding and its token Secret."""
    labels = {"app.kubernetes.io/managed-by": "kubeprimer", "app.kubernetes.io/part-of": "vault"}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": labels},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{name}-auth-delegator", "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                **meta,
                "name": f"{name}-token",
                "annotations": {"kubernetes.io/service-account.name": name},
            },
        },
    ]


def wait_token(kube: Any, namespace: str, secret: str, timeout: float) -> tuple[str, str]:
    """The reviewer JWT and cluster CA, once the token controller has filled the Secret in."""
    from kubeprimer.addons.kube import fetch

    deadline = time.monotonic() + timeout
    while True:
        obj = fetch(kube, "v1", "Secret", secret, namespace)
        data = (obj.to_dict().get("data") if obj is not None else None) or {}
        if data.get("token"):
            jwt = base64.b64decode(data["token"]).decode()
            ca = base64.b64decode(data["ca.crt"]).decode() if data.get("ca.crt") else ""
            return jwt, ca
        if time.monotonic() > deadline:
            raise UserError(
                f"Secret {namespace}/{secret} got no token within {timeout:.0f} s: "
                "is kube-controller-manager running?"
            )
        time.sleep(0.5)


def cluster_address_and_ca(kube: Any) -> tuple[str, str]:
    """The API server URL and CA PEM the kubeconfig uses (its CA file, inline data included)."""
    conf = kube.client.configuration
    ca = Path(conf.ssl_ca_cert).read_text() if conf.ssl_ca_cert else ""
    return str(conf.host), ca


def configure(
    vault: Any,
    kube: Any,
    mount: str = "kubernetes",
    namespace: str = "vault",
    timeout: float = 60.0,
) -> Wiring:
    """Create the reviewer account in the cluster, then write auth/<mount>/config in Vault."""
    from kubeprimer.addons.install import apply
    from kubeprimer.addons.kube import fetch

    # The server is asked first: a token it refuses must not leave half the wiring done.
    check_target(vault, mount, namespace)
    objects = reviewer_objects(namespace)
    # The namespace may belong to the vault-injector addon (same field manager): applying
    # a bare one over it would drop the addon's labels, so it is only created when missing.
    if fetch(kube, "v1", "Namespace", namespace) is not None:
        objects = objects[1:]
    done = {f"{o['kind']}/{o['metadata']['name']}": apply(kube, o) for o in objects}
    jwt, secret_ca = wait_token(kube, namespace, objects[-1]["metadata"]["name"], timeout)
    host, ca = cluster_address_and_ca(kube)
    ca = ca or secret_ca
    if not ca:
        raise UserError("Neither the kubeconfig nor the token Secret carries the cluster CA.")
    write_config(vault, mount, host, ca, jwt)
    return Wiring(host, mount, namespace, REVIEWER, done)


NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)


def check_target(vault: Any, mount: str, namespace: str) -> None:
    """Every problem with --mount and --namespace, before the cluster or the server changes."""
    import hvac.exceptions

    problems = []
    if not NAMESPACE.fullmatch(namespace):
        problems.append(
            f"--namespace: {namespace!r} is not a Kubernetes namespace name "
            "(lower-case letters, digits and '-', at most 63)."
        )
    try:
        methods = vault.sys.list_auth_methods()["data"]
    except hvac.exceptions.Forbidden as error:
        raise denied(error) from None
    others = [path.rstrip("/") for path in methods if path.rstrip("/") != mount]
    problems += auth_mount_problems("--mount", mount, others)
    raise_if(problems)
    auth_kind(vault, mount)


def auth_kind(vault: Any, mount: str) -> str | None:
    """The auth method at the mount (None when free); UserError unless it is kubernetes."""
    import hvac.exceptions

    try:
        methods = vault.sys.list_auth_methods()["data"]
    except hvac.exceptions.Forbidden as error:
        raise denied(error) from None
    kind: str | None = (methods.get(f"{mount}/") or {}).get("type")
    if kind not in (None, "kubernetes"):
        raise UserError(f"Auth path {mount} already holds a {kind} method; pass another --mount.")
    return kind


def write_config(vault: Any, mount: str, host: str, ca_pem: str, reviewer_jwt: str) -> None:
    """Enable the auth method when missing, then write its cluster configuration."""
    import hvac.exceptions

    kind = auth_kind(vault, mount)
    try:
        if kind is None:
            vault.sys.enable_auth_method("kubernetes", path=mount)
        vault.auth.kubernetes.configure(
            kubernetes_host=host,
            kubernetes_ca_cert=ca_pem,
            token_reviewer_jwt=reviewer_jwt,
            mount_point=mount,
        )
    except hvac.exceptions.VaultError as error:
        raise UserError(
            f"The server refused the kubernetes auth configuration: {reason(error)}."
        ) from None
