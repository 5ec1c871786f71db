"""The order objects are applied in: what others depend on goes first (as Helm does)."""

from __future__ import annotations

from kubeprimer.addons.record import Ref

KIND_ORDER = (
    "Namespace",
    "PriorityClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "CSIDriver",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "IngressClass",
    "DaemonSet",
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Ingress",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
)

# Rank of custom resources: applied in a second phase, once CRDs and webhooks are up.
CUSTOM = len(KIND_ORDER)


def rank(ref: Ref) -> int:
    """Known kinds by KIND_ORDER; custom resources last (they need their CRD and webhooks)."""
    return KIND_ORDER.index(ref.kind) if ref.kind in KIND_ORDER else CUSTOM


def install_order(refs: list[Ref]) -> list[Ref]:
    """Stable: objects of one kind keep the order the templates wrote them in."""
    return sorted(refs, key=rank)
