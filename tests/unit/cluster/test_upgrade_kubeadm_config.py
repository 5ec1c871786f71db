"""The kubeadm upgrade configuration roles/kubeadm renders for cluster.upgrade, for each
host of the sample inventories, checked field by field against kubeadm v1beta4's
UpgradeConfiguration (kubeadm decodes it strictly: a misspelt field fails on the host)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.cluster.conftest import docs
from tests.unit.cluster.kubeadm_schema import unknown_fields

PATCHES = {"directory": "/etc/kubernetes/kubeadm/patches"}


def upgrade(rendered: dict[str, Path], scenario: str, host: str) -> dict[str, Any]:
    [doc] = docs(rendered[scenario] / host / "upgrade.yaml")
    return doc


def test_every_upgrade_configuration_uses_only_known_fields(rendered: dict[str, Path]) -> None:
    paths = [p for scenario in rendered.values() for p in scenario.glob("*/upgrade.yaml")]
    assert len(paths) >= 8, "one per node of every scenario"
    found = [f"{p}: {f}" for p in paths for doc in docs(p) for f in unknown_fields(doc)]
    assert not found


def test_upgrade_configuration_targets_the_inventory_version_with_the_nodes_patches(
    rendered: dict[str, Path],
) -> None:
    doc = upgrade(rendered, "single", "cp1")
    assert doc["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert doc["kind"] == "UpgradeConfiguration"
    assert doc["apply"]["kubernetesVersion"] == "v1.37.1"
    assert doc["plan"]["kubernetesVersion"] == "v1.37.1"
    for section in ("apply", "node"):
        assert doc[section]["patches"] == PATCHES
        assert doc[section]["certificateRenewal"] is True
        assert doc[section]["etcdUpgrade"] is True  # stacked: kubeadm upgrades its etcd
        assert "ignorePreflightErrors" not in doc[section]


def test_external_etcd_is_left_to_its_own_playbook(rendered: dict[str, Path]) -> None:
    for host in ("cp1", "w1"):
        doc = upgrade(rendered, "ha", host)
        assert doc["apply"]["etcdUpgrade"] is False
        assert doc["node"]["etcdUpgrade"] is False


def test_container_nodes_ignore_the_same_preflight_checks_as_on_init(
    rendered: dict[str, Path],
) -> None:
    doc = upgrade(rendered, "lab", "w1")
    for section in ("apply", "node", "plan"):
        assert doc[section]["ignorePreflightErrors"] == ["SystemVerification"]
    [init] = [
        d for d in docs(rendered["lab"] / "cp1" / "init.yaml") if d["kind"] == "InitConfiguration"
    ]
    registration: Any = init["nodeRegistration"]
    assert registration["ignorePreflightErrors"] == ["SystemVerification"]
