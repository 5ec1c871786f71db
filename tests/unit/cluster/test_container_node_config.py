"""Kubernetes nodes that are containers (kube_node_in_container, set by the lab inventory):
the kubeadm role's rendered KubeletConfiguration, KubeProxyConfiguration, kubelet patches
and kubeadm preflight settings gain exactly the container settings, checked against the
kubelet and kube-proxy schemas; a bare-metal inventory renders what it rendered before.

No kubelet binary can be had here, so these settings are tested as rendered.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.paths import ROLES
from tests.integration.roles.localplay import run_role
from tests.unit.cluster.conftest import by_kind, docs
from tests.unit.cluster.kubelet_schema import conntrack_problems, kubelet_problems

DEFAULTS = yaml.safe_load((ROLES / "kubeadm" / "defaults" / "main.yml").read_text())
KUBELET = DEFAULTS["kubeadm_container_kubelet_config"]
PROXY = DEFAULTS["kubeadm_container_proxy_config"]
PREFLIGHT = DEFAULTS["kubeadm_container_ignore_preflight_errors"]


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Ansible's combine(recursive=True)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def test_container_settings_are_the_ones_the_docs_name() -> None:
    assert KUBELET["failSwapOn"] is False
    assert KUBELET["protectKernelDefaults"] is False
    assert KUBELET["imageGCHighThresholdPercent"] == 100
    assert KUBELET["evictionHard"] == {
        "memory.available": "100Mi",
        "nodefs.available": "0%",
        "nodefs.inodesFree": "0%",
        "imagefs.available": "0%",
    }
    assert PROXY == {"conntrack": {"maxPerCore": 0}}
    assert PREFLIGHT == ["SystemVerification"]


def test_bare_metal_renders_as_before(rendered: dict[str, Path]) -> None:
    init: dict[str, Any] = by_kind(rendered["single"] / "cp1" / "init.yaml")
    assert init["KubeletConfiguration"] == {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "systemd",
        "failCgroupV1": False,
        "readOnlyPort": 0,
        "rotateCertificates": True,
        "serverTLSBootstrap": True,
        # The CIS settings (tests/unit/cis/test_cis_node.py checks each one).
        "makeIPTablesUtilChains": True,
        "eventRecordQPS": 50,
        "tlsMinVersion": "VersionTLS12",
        "tlsCipherSuites": init["KubeletConfiguration"]["tlsCipherSuites"],
        "podPidsLimit": 4096,
        "seccompDefault": True,
        "protectKernelDefaults": True,
    }
    assert init["KubeProxyConfiguration"] == {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clusterCIDR": "10.244.0.0/16",
    }
    assert "ignorePreflightErrors" not in init["InitConfiguration"]["nodeRegistration"]
    for scenario in ("single", "ha", "weave"):
        for path in rendered[scenario].glob("*/*.yaml"):
            for doc in docs(path):
                for field in ("failSwapOn", "imageGCHighThresholdPercent"):
                    assert field not in doc, f"{scenario}/{path.name} has {field}"
                # Bare metal keeps kubelet's kernel parameters protected (node_prep sets them).
                assert doc.get("protectKernelDefaults", True) is True, f"{scenario}/{path.name}"
                assert "conntrack" not in doc, f"{scenario}/{path.name}"
    assert docs(rendered["single"] / "w1" / "kubelet-patch.yaml") == [{"failCgroupV1": False}]


def test_lab_differs_from_bare_metal_only_by_the_container_settings(
    rendered: dict[str, Path],
) -> None:
    lab, bare = rendered["lab"], rendered["single"]
    files = sorted(p.relative_to(bare) for p in bare.glob("*/*"))
    assert files == sorted(p.relative_to(lab) for p in lab.glob("*/*"))
    for rel in files:
        # upgrade.yaml differs by the preflight checks container nodes ignore
        # (tests/unit/cluster/test_upgrade_kubeadm_config.py).
        if rel.name in ("init.yaml", "join.yaml", "kubelet-patch.yaml", "upgrade.yaml"):
            continue
        assert (lab / rel).read_bytes() == (bare / rel).read_bytes(), rel

    want: dict[str, Any] = by_kind(bare / "cp1" / "init.yaml")
    want["KubeletConfiguration"] = merged(want["KubeletConfiguration"], KUBELET)
    want["KubeProxyConfiguration"] = merged(want["KubeProxyConfiguration"], PROXY)
    want["InitConfiguration"]["nodeRegistration"]["ignorePreflightErrors"] = PREFLIGHT
    assert by_kind(lab / "cp1" / "init.yaml") == want

    for host in ("cp1", "w1"):
        join: dict[str, Any] = by_kind(bare / host / "join.yaml")
        join["JoinConfiguration"]["nodeRegistration"]["ignorePreflightErrors"] = PREFLIGHT
        assert by_kind(lab / host / "join.yaml") == join
        (patch,) = docs(bare / host / "kubelet-patch.yaml")
        assert docs(lab / host / "kubelet-patch.yaml") == [merged(KUBELET, patch)]


def test_every_rendered_kubelet_and_proxy_configuration_fits_the_schemas(
    rendered: dict[str, Path],
) -> None:
    found = []
    for scenario, folder in rendered.items():
        for path in folder.glob("*/init.yaml"):
            kinds: dict[str, Any] = by_kind(path)
            found += [f"{scenario}: {p}" for p in kubelet_problems(kinds["KubeletConfiguration"])]
            found += [
                f"{scenario}: {p}" for p in conntrack_problems(kinds["KubeProxyConfiguration"])
            ]
        for path in folder.glob("*/kubelet-patch.yaml"):
            for doc in docs(path):
                found += [f"{scenario}/{path.parent.name}: {p}" for p in kubelet_problems(doc)]
    assert not found
    # The lab scenario is among them, with its settings in place.
    lab: dict[str, Any] = by_kind(rendered["lab"] / "cp1" / "init.yaml")
    assert lab["KubeletConfiguration"]["failSwapOn"] is False
    assert lab["KubeProxyConfiguration"]["conntrack"] == {"maxPerCore": 0}


def test_the_schemas_refuse_what_kubelet_and_kube_proxy_refuse() -> None:
    assert kubelet_problems({"failSwapOff": False}) == [
        "KubeletConfiguration.failSwapOff is not a field"
    ]
    assert kubelet_problems({"failSwapOn": "false"}) == [
        "KubeletConfiguration.failSwapOn is str, not bool"
    ]
    assert kubelet_problems({"maxPods": True}) == ["KubeletConfiguration.maxPods is bool, not int"]
    assert kubelet_problems({"evictionHard": {"nodefs.free": "0%"}}) == [
        "evictionHard.nodefs.free is not an eviction signal"
    ]
    assert kubelet_problems({"evictionHard": {"nodefs.available": 0}}) == [
        "evictionHard.nodefs.available=0 is not a quantity or percentage"
    ]
    assert kubelet_problems({"imageGCHighThresholdPercent": 101})
    assert kubelet_problems({"authentication": {"anonymous": {}, "x509s": {}}}) == [
        "KubeletConfiguration.authentication.x509s is not a field"
    ]
    assert conntrack_problems({"conntrack": {"maxPerCPU": 0}}) == [
        "KubeProxyConfiguration.conntrack.maxPerCPU is not a field"
    ]
    assert conntrack_problems({"conntrack": {"maxPerCore": "0"}}) == [
        "KubeProxyConfiguration.conntrack.maxPerCore is str, not int"
    ]
    assert kubelet_problems(KUBELET) == []
    assert conntrack_problems(PROXY) == []


PREFLIGHT_REFUSAL = "is a container (kube_node_in_container) but kubelet_extra_config"
# The role alone, without roles/kube_defaults: the cluster-wide setting it reads.
CONTAINER_NODE = {"kube_node_in_container": True, "kubelet_extra_config": {}}


@pytest.mark.parametrize(
    "settings",
    [
        {"kubelet_extra_config": {"protectKernelDefaults": True}},
        {"kubelet_extra_config": {"failSwapOn": True}},
        {"kubeadm_container_proxy_config": {"conntrack": {"maxPerCore": 32768}}},
    ],
)
def test_kubeadm_preflight_refuses_to_undo_a_container_setting(
    tmp_path: Path, settings: dict[str, Any]
) -> None:
    done = run_role(tmp_path, "kubeadm", ["preflight"], {**CONTAINER_NODE, **settings})
    assert done.returncode != 0
    assert PREFLIGHT_REFUSAL in done.stdout


def test_kubeadm_preflight_passes_container_settings_through(tmp_path: Path) -> None:
    # Later checks fail here (no kubeadm binary on this machine); this one must not.
    done = run_role(tmp_path, "kubeadm", ["preflight"], CONTAINER_NODE)
    assert "Check a container node keeps the settings" in done.stdout
    assert PREFLIGHT_REFUSAL not in done.stdout
