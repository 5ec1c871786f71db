"""The kubeadm role's templates, rendered by Ansible for sample inventories, checked
field by field against what kubeadm v1beta4 and kubelet expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.cluster.conftest import by_kind, docs
from tests.unit.cluster.kubeadm_schema import unknown_fields


def args(items: list[dict[str, str]]) -> dict[str, str]:
    """v1beta4 extraArgs (a list of name/value) as a dict, after checking the shape."""
    for item in items:
        assert set(item) == {"name", "value"}, item
        assert isinstance(item["value"], str), f"{item['name']} must be a string"
    return {i["name"]: i["value"] for i in items}


def init(rendered: dict[str, Path], scenario: str) -> dict[str, dict[str, Any]]:
    return by_kind(rendered[scenario] / "cp1" / "init.yaml")


def test_every_kubeadm_document_uses_only_known_fields(rendered: dict[str, Path]) -> None:
    found = []
    for scenario in rendered.values():
        for path in [*scenario.glob("*/init.yaml"), *scenario.glob("*/join.yaml")]:
            for doc in docs(path):
                found += [f"{path.parent.name}/{path.name}: {f}" for f in unknown_fields(doc)]
    assert not found


def test_init_configuration_single(rendered: dict[str, Path]) -> None:
    cfg = init(rendered, "single")
    initc = cfg["InitConfiguration"]
    assert initc["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert initc["localAPIEndpoint"] == {"advertiseAddress": "10.0.0.11", "bindPort": 6443}
    reg = initc["nodeRegistration"]
    assert reg["name"] == "cp1"
    assert reg["criSocket"] == "unix:///run/containerd/containerd.sock"
    assert args(reg["kubeletExtraArgs"]) == {"node-ip": "10.0.0.11"}
    assert "taints" not in reg, "a pure control plane keeps kubeadm's default taint"
    # No secret in the init file: no token, no certificate key.
    assert "bootstrapTokens" not in initc
    assert "certificateKey" not in initc
    assert initc["patches"] == {"directory": "/etc/kubernetes/kubeadm/patches"}


def test_cluster_configuration_single(rendered: dict[str, Path]) -> None:
    cc = init(rendered, "single")["ClusterConfiguration"]
    assert cc["kubernetesVersion"] == "v1.37.1"
    assert cc["controlPlaneEndpoint"] == "10.0.0.11:6443"
    assert cc["networking"] == {
        "podSubnet": "10.244.0.0/16",
        "serviceSubnet": "10.96.0.0/12",
        "dnsDomain": "cluster.local",
    }
    assert cc["etcd"] == {"local": {"dataDir": "/var/lib/etcd"}}
    assert cc["imageRepository"] == "registry.k8s.io"
    assert cc["apiServer"]["certSANs"] == ["10.0.0.11"]


def test_api_server_hardening(rendered: dict[str, Path]) -> None:
    api = init(rendered, "single")["ClusterConfiguration"]["apiServer"]
    flags = args(api["extraArgs"])
    assert flags["encryption-provider-config"] == "/etc/kubernetes/encryption/config.yaml"
    assert flags["audit-policy-file"] == "/etc/kubernetes/audit/policy.yaml"
    assert flags["audit-log-path"] == "/var/log/kubernetes/audit/audit.log"
    assert flags["audit-log-maxage"] == "30"
    assert flags["profiling"] == "false"
    volumes = {v["name"]: v for v in api["extraVolumes"]}
    # Every file a flag names is inside a volume mounted into the static pod.
    for flag in ("encryption-provider-config", "audit-policy-file", "audit-log-path"):
        assert any(
            flags[flag].startswith(v["mountPath"] + "/") and v["hostPath"] == v["mountPath"]
            for v in volumes.values()
        ), flag
    assert volumes["audit-log"]["readOnly"] is False
    assert volumes["audit-policy"]["readOnly"] is True
    assert volumes["encryption-config"]["readOnly"] is True
    for v in volumes.values():
        assert set(v) == {"name", "hostPath", "mountPath", "readOnly", "pathType"}


def test_kubelet_configuration(rendered: dict[str, Path]) -> None:
    kc = init(rendered, "single")["KubeletConfiguration"]
    assert kc["apiVersion"] == "kubelet.config.k8s.io/v1beta1"
    assert kc["authentication"]["anonymous"] == {"enabled": False}
    assert kc["authentication"]["webhook"]["enabled"] is True
    assert kc["authorization"] == {"mode": "Webhook"}
    assert kc["cgroupDriver"] == "systemd"
    assert kc["readOnlyPort"] == 0
    # The lab's hosts are cgroup v1: the inventory says so, the config follows.
    assert kc["failCgroupV1"] is False
    ha = init(rendered, "ha")["KubeletConfiguration"]
    assert ha["failCgroupV1"] is True
    assert ha["maxPods"] == 150
    assert ha["evictionHard"] == {"memory.available": "200Mi"}
    assert ha["authentication"]["anonymous"] == {"enabled": False}


def test_kube_proxy_configuration(rendered: dict[str, Path]) -> None:
    kp = init(rendered, "ha")["KubeProxyConfiguration"]
    assert kp["apiVersion"] == "kubeproxy.config.k8s.io/v1alpha1"
    assert kp["clusterCIDR"] == "10.200.0.0/16"
    assert kp["mode"] == "iptables"


def test_cluster_configuration_ha_external_etcd(rendered: dict[str, Path]) -> None:
    cc = init(rendered, "ha")["ClusterConfiguration"]
    assert cc["kubernetesVersion"] == "v1.36.4"
    assert cc["controlPlaneEndpoint"] == "10.0.0.10:8443"
    assert cc["imageRepository"] == "mirror.example.internal/k8s"
    assert cc["networking"]["podSubnet"] == "10.200.0.0/16"
    assert cc["networking"]["serviceSubnet"] == "10.100.0.0/16"
    ext = cc["etcd"]["external"]
    assert ext["endpoints"] == [f"https://10.0.0.3{i}:2379" for i in (1, 2, 3)]
    assert ext["caFile"] == "/etc/kubernetes/pki/external-etcd/ca.crt"
    assert ext["certFile"].endswith("apiserver-etcd-client.crt")
    assert ext["keyFile"].endswith("apiserver-etcd-client.key")
    assert "local" not in cc["etcd"]
    assert cc["apiServer"]["certSANs"] == ["10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13"]
    flags = args(cc["apiServer"]["extraArgs"])
    assert flags["audit-log-maxage"] == "7", "the inventory overrides a hardened default"
    assert flags["oidc-issuer-url"] == "https://id.example"
    assert flags["encryption-provider-config"] == "/etc/kubernetes/encryption/config.yaml"


def test_join_configuration_worker(rendered: dict[str, Path]) -> None:
    join = by_kind(rendered["ha"] / "w1" / "join.yaml")["JoinConfiguration"]
    assert join["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert join["discovery"]["bootstrapToken"] == {
        "apiServerEndpoint": "10.0.0.10:8443",
        "token": "abcdef.0123456789abcdef",
        "caCertHashes": ["sha256:" + "0" * 63 + "1"],
    }
    assert "controlPlane" not in join
    assert args(join["nodeRegistration"]["kubeletExtraArgs"]) == {"node-ip": "10.0.0.21"}
    assert join["patches"] == {"directory": "/etc/kubernetes/kubeadm/patches"}


def test_join_configuration_control_plane(rendered: dict[str, Path]) -> None:
    cp2 = by_kind(rendered["ha"] / "cp2" / "join.yaml")["JoinConfiguration"]
    assert cp2["controlPlane"] == {
        "localAPIEndpoint": {"advertiseAddress": "10.0.0.12", "bindPort": 6443},
        "certificateKey": "00112233445566778899aabbccddeeff" * 2,
    }
    assert "taints" not in cp2["nodeRegistration"]
    # cp3 is also a worker: it joins without the control-plane taint.
    cp3 = by_kind(rendered["ha"] / "cp3" / "join.yaml")["JoinConfiguration"]
    assert cp3["nodeRegistration"]["taints"] == []


def test_kubelet_patch_per_host(rendered: dict[str, Path]) -> None:
    def patch(scenario: str, host: str) -> Any:
        return docs(rendered[scenario] / host / "kubelet-patch.yaml")[0]

    assert patch("single", "w1") == {"failCgroupV1": False}
    assert patch("ha", "w1") == {"failCgroupV1": True, "maxPods": 50}
    assert patch("ha", "w2") == {
        "failCgroupV1": True,
        "maxPods": 150,
        "evictionHard": {"memory.available": "200Mi"},
    }


def test_encryption_configuration(rendered: dict[str, Path]) -> None:
    for scenario, provider in (("single", "secretbox"), ("ha", "aescbc")):
        (doc,) = docs(rendered[scenario] / "cp1" / "encryption-config.yaml")
        assert doc["apiVersion"] == "apiserver.config.k8s.io/v1"
        assert doc["kind"] == "EncryptionConfiguration"
        (entry,) = doc["resources"]
        assert entry["resources"] == ["secrets"]
        first, fallback = entry["providers"]
        assert list(first) == [provider]
        (key,) = first[provider]["keys"]
        assert key["name"] == "key1"
        assert len(__import__("base64").b64decode(key["secret"])) == 32
        assert fallback == {"identity": {}}
