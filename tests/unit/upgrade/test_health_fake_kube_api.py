"""The health and PodDisruptionBudget refusals of an upgrade, against the Kubernetes API
TEST DOUBLE: one sentence listing everything found, exit 2 (UserError)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeprimer.addons.kube import connect
from kubeprimer.errors import UserError
from kubeprimer.upgrade import health, running
from tests.unit.upgrade.cluster_state import (
    CONTAINERD,
    KUBE,
    VersionedApi,
    flannel,
    inventory,
    node,
)

ETCD_LABELS = {"component": "etcd", "tier": "control-plane"}


def etcd_pod(api: VersionedApi, control_plane: str, ready: bool = True) -> None:
    """kubeadm's etcd static pod (a mirror pod) on ``control_plane``."""
    name = f"etcd-{control_plane}"
    api.add_pod("kube-system", name, control_plane, ETCD_LABELS, owner="Node", mirror=True)
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    api.objects[("", "pods", "kube-system", name)]["status"]["conditions"] = [condition]


@pytest.fixture
def api() -> VersionedApi:
    cluster = VersionedApi()
    for name in ("cp1", "w1", "w2"):
        node(cluster, name, KUBE, CONTAINERD)
    flannel(cluster)
    etcd_pod(cluster, "cp1")
    return cluster


@pytest.fixture
def client(api: VersionedApi, tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    with api.serve(tmp_path) as kubeconfig:
        yield connect(kubeconfig), kubeconfig


def verdict(tmp_path: Path, client: tuple[Any, Path]) -> str:
    inv = inventory(tmp_path / "inv", workers=("w1", "w2"))
    found = running.probe(inv, kubeconfig=client[1])
    try:
        health.check(client[0], inv, found)
    except UserError as error:
        (sentence,) = error.messages
        return sentence
    return ""


def test_a_healthy_cluster_passes(tmp_path: Path, client: tuple[Any, Path]) -> None:
    assert verdict(tmp_path, client) == ""


def test_every_node_not_ready_and_etcd_pod_is_named_in_one_sentence(
    tmp_path: Path, api: VersionedApi, client: tuple[Any, Path]
) -> None:
    for name in ("w1", "w2"):
        api.objects[("", "nodes", "", name)]["status"]["conditions"][0]["status"] = "False"
    api.objects[("", "pods", "kube-system", "etcd-cp1")]["status"]["conditions"][0]["status"] = (
        "False"
    )
    said = verdict(tmp_path, client)
    assert said.startswith(
        "The cluster is not healthy: node w1 is not Ready; node w2 is not Ready; "
        "etcd on cp1 is not Ready;"
    )
    assert said.endswith("run invoke cluster.upgrade again.")


def test_a_control_plane_without_its_etcd_pod_is_unhealthy(
    tmp_path: Path, api: VersionedApi, client: tuple[Any, Path]
) -> None:
    del api.objects[("", "pods", "kube-system", "etcd-cp1")]
    assert "etcd on cp1 has no pod" in verdict(tmp_path, client)


def test_an_inventory_node_the_cluster_lacks_is_named(
    tmp_path: Path, api: VersionedApi, client: tuple[Any, Path]
) -> None:
    del api.objects[("", "nodes", "", "w2")]
    assert "node w2 has not joined (join it with invoke cluster.up" in verdict(tmp_path, client)


def test_external_etcd_members_not_healthy_or_silent_are_named(
    tmp_path: Path, client: tuple[Any, Path]
) -> None:
    inv = inventory(tmp_path, workers=("w1", "w2"), etcd=("e1", "e2", "e3"))
    found = running.probe(inv, kubeconfig=client[1], run=lambda *_: {})
    found.etcd = {
        "e1": running.Member("3.6.14", True),
        "e2": running.Member("3.6.14", False),
        "e3": running.Member(None, None),
    }
    with pytest.raises(UserError) as caught:
        health.check(client[0], inv, found)
    (said,) = caught.value.messages
    assert "etcd on e2 is not healthy; etcd on e3 did not answer" in said
    assert "e1" not in said


def test_an_api_server_that_cannot_be_read_stops_the_upgrade(tmp_path: Path) -> None:
    inv = inventory(tmp_path)
    found = running.Running(made=True, unknown=["The Kubernetes versions could not be read (x)."])
    with pytest.raises(UserError, match="needs the API server answering"):
        health.check(None, inv, found)


def test_budgets_that_allow_no_disruption_are_all_named(
    api: VersionedApi, client: tuple[Any, Path]
) -> None:
    api.add_pod("shop", "db-0", "w1", {"app": "db"})
    api.add_pod("shop", "web-1", "w2", {"app": "web"})
    api.add_pod("shop", "cache-1", "w2", {"app": "cache"})
    api.add_budget("shop", "db", {"app": "db"}, allowed=0)
    api.add_budget("shop", "web", {"app": "web"}, allowed=0)
    api.add_budget("shop", "cache", {"app": "cache"}, allowed=1)
    with pytest.raises(UserError) as caught:
        health.budgets(client[0], ["w1", "w2"])
    (said,) = caught.value.messages
    assert said.startswith("PodDisruptionBudgets would block draining the nodes: ")
    assert "shop/db: disruptionsAllowed 0, covers shop/db-0" in said
    assert "shop/web: disruptionsAllowed 0, covers shop/web-1" in said
    assert "shop/cache" not in said
    health.budgets(client[0], ["cp1"])  # no budget covers a pod there


def test_budgets_that_allow_a_disruption_pass(api: VersionedApi, client: tuple[Any, Path]) -> None:
    api.add_pod("shop", "db-0", "w1", {"app": "db"})
    api.add_budget("shop", "db", {"app": "db"}, allowed=1)
    health.budgets(client[0], ["w1", "w2"])
