"""The fields of the kubeadm v1beta4 (and kube-proxy v1alpha1) configuration kinds.

kubernetes-validate has no schemas for kubeadm's own configuration files, and kubeadm
rejects unknown fields (strict decoding), so a misspelt field would only fail on a real
host. This tree lists the fields of the v1beta4 reference that kubeprimer may write;
``unknown_fields`` reports any rendered field outside it. LEAF accepts any value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LEAF: dict[str, Any] = {}
ARG = {"name": LEAF, "value": LEAF}
ENV = {"name": LEAF, "value": LEAF, "valueFrom": LEAF}
VOLUME = {"name": LEAF, "hostPath": LEAF, "mountPath": LEAF, "readOnly": LEAF, "pathType": LEAF}
CONTROL_PLANE_COMPONENT = {
    "extraArgs": [ARG],
    "extraVolumes": [VOLUME],
    "extraEnvs": [ENV],
}
NODE_REGISTRATION = {
    "name": LEAF,
    "criSocket": LEAF,
    "taints": [{"key": LEAF, "value": LEAF, "effect": LEAF, "timeAdded": LEAF}],
    "kubeletExtraArgs": [ARG],
    "ignorePreflightErrors": LEAF,
    "imagePullPolicy": LEAF,
    "imagePullSerial": LEAF,
}
API_ENDPOINT = {"advertiseAddress": LEAF, "bindPort": LEAF}
PATCHES = {"directory": LEAF}
TIMEOUTS = {
    name: LEAF
    for name in (
        "controlPlaneComponentHealthCheck",
        "kubeletHealthCheck",
        "kubernetesAPICall",
        "etcdAPICall",
        "tlsBootstrap",
        "discovery",
        "upgradeManifests",
    )
}
TYPE = {"apiVersion": LEAF, "kind": LEAF}
# What UpgradeConfiguration's apply and node sections share.
UPGRADE_COMMON = {
    "certificateRenewal": LEAF,
    "dryRun": LEAF,
    "etcdUpgrade": LEAF,
    "ignorePreflightErrors": LEAF,
    "skipPhases": LEAF,
    "patches": PATCHES,
    "imagePullPolicy": LEAF,
    "imagePullSerial": LEAF,
}

KINDS: dict[str, dict[str, Any]] = {
    "InitConfiguration": {
        **TYPE,
        "bootstrapTokens": LEAF,
        "dryRun": LEAF,
        "nodeRegistration": NODE_REGISTRATION,
        "localAPIEndpoint": API_ENDPOINT,
        "certificateKey": LEAF,
        "skipPhases": LEAF,
        "patches": PATCHES,
        "timeouts": TIMEOUTS,
    },
    "ClusterConfiguration": {
        **TYPE,
        "etcd": {
            "local": {
                "imageRepository": LEAF,
                "imageTag": LEAF,
                "dataDir": LEAF,
                "extraArgs": [ARG],
                "extraEnvs": [ENV],
                "serverCertSANs": LEAF,
                "peerCertSANs": LEAF,
            },
            "external": {
                "endpoints": LEAF,
                "httpEndpoints": LEAF,
                "caFile": LEAF,
                "certFile": LEAF,
                "keyFile": LEAF,
            },
        },
        "networking": {"serviceSubnet": LEAF, "podSubnet": LEAF, "dnsDomain": LEAF},
        "kubernetesVersion": LEAF,
        "controlPlaneEndpoint": LEAF,
        "apiServer": {**CONTROL_PLANE_COMPONENT, "certSANs": LEAF},
        "controllerManager": CONTROL_PLANE_COMPONENT,
        "scheduler": CONTROL_PLANE_COMPONENT,
        "dns": {"disabled": LEAF, "imageRepository": LEAF, "imageTag": LEAF},
        "proxy": {"disabled": LEAF},
        "certificatesDir": LEAF,
        "imageRepository": LEAF,
        "featureGates": LEAF,
        "clusterName": LEAF,
        "encryptionAlgorithm": LEAF,
        "certificateValidityPeriod": LEAF,
        "caCertificateValidityPeriod": LEAF,
    },
    "JoinConfiguration": {
        **TYPE,
        "dryRun": LEAF,
        "nodeRegistration": NODE_REGISTRATION,
        "caCertPath": LEAF,
        "discovery": {
            "bootstrapToken": {
                "token": LEAF,
                "apiServerEndpoint": LEAF,
                "caCertHashes": LEAF,
                "unsafeSkipCAVerification": LEAF,
            },
            "file": {"kubeConfigPath": LEAF},
            "tlsBootstrapToken": LEAF,
        },
        "controlPlane": {"localAPIEndpoint": API_ENDPOINT, "certificateKey": LEAF},
        "skipPhases": LEAF,
        "patches": PATCHES,
        "timeouts": TIMEOUTS,
    },
    "UpgradeConfiguration": {
        **TYPE,
        "apply": {
            **UPGRADE_COMMON,
            "kubernetesVersion": LEAF,
            "allowExperimentalUpgrades": LEAF,
            "allowRCUpgrades": LEAF,
            "forceUpgrade": LEAF,
            "printConfig": LEAF,
        },
        "node": UPGRADE_COMMON,
        "plan": {
            "kubernetesVersion": LEAF,
            "allowExperimentalUpgrades": LEAF,
            "allowRCUpgrades": LEAF,
            "dryRun": LEAF,
            "ignorePreflightErrors": LEAF,
            "printConfig": LEAF,
        },
        "diff": {"kubernetesVersion": LEAF, "contextLines": LEAF},
        "timeouts": TIMEOUTS,
    },
    "KubeProxyConfiguration": {
        **TYPE,
        "mode": LEAF,
        "clusterCIDR": LEAF,
        "bindAddress": LEAF,
        "metricsBindAddress": LEAF,
        "ipvs": LEAF,
        "iptables": LEAF,
        "nftables": LEAF,
        "conntrack": LEAF,
    },
}
ENUMS = {
    ("ClusterConfiguration", "encryptionAlgorithm"): {
        "RSA-2048",
        "RSA-3072",
        "RSA-4096",
        "ECDSA-P256",
        "ECDSA-P384",
    },
    ("KubeProxyConfiguration", "mode"): {"iptables", "ipvs", "nftables"},
}


def _walk(value: Any, tree: Any, path: str) -> list[str]:
    if tree is LEAF:
        return []
    if isinstance(tree, list):
        if not isinstance(value, list):
            return [f"{path} should be a list"]
        return [f for i, item in enumerate(value) for f in _walk(item, tree[0], f"{path}[{i}]")]
    if not isinstance(value, dict):
        return [f"{path} should be a mapping"]
    return known_fields(value, tree, path, _walk)


def known_fields(
    doc: dict[str, Any],
    known: dict[str, Any],
    path: str,
    check: Callable[[Any, Any, str], list[str]],
) -> list[str]:
    """Each key of ``doc`` that ``known`` lacks, and what ``check`` finds in the value of
    each other key against what ``known`` says of it."""
    found = []
    for key, value in doc.items():
        if key not in known:
            found.append(f"{path}.{key} is not a field")
        else:
            found += check(value, known[key], f"{path}.{key}")
    return found


def unknown_fields(doc: dict[str, Any]) -> list[str]:
    """Fields of a kubeadm or kube-proxy document that its kind does not have."""
    kind = str(doc.get("kind"))
    if kind == "KubeletConfiguration":
        return []  # checked field by field in the tests; kubelet has too many to list
    if kind not in KINDS:
        return [f"{kind} is not a kind kubeprimer writes"]
    found = _walk(doc, KINDS[kind], kind)
    for (enum_kind, field), allowed in ENUMS.items():
        if kind == enum_kind and field in doc and doc[field] not in allowed:
            found.append(f"{kind}.{field}={doc[field]} is not one of {sorted(allowed)}")
    return found
