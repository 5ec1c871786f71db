"""The cluster.up guard, reading a running cluster from the Kubernetes API TEST DOUBLE:
every version that needs a rolling upgrade, changed in the inventory, is refused with one
sentence naming component, running and wanted version and invoke cluster.upgrade."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeprimer.errors import UserError
from kubeprimer.upgrade import guard, running
from tests.unit.upgrade.cluster_state import (
    CONTAINERD,
    ETCD,
    FLANNEL,
    KUBE,
    VersionedApi,
    flannel,
    inventory,
    node,
)


@pytest.fixture
def api() -> VersionedApi:
    """A cluster at the pinned versions: cp1 and w1."""
    cluster = VersionedApi()
    for name in ("cp1", "w1"):
        node(cluster, name, KUBE, CONTAINERD)
    flannel(cluster)
    return cluster


@pytest.fixture
def kubeconfig(api: VersionedApi, tmp_path: Path) -> Iterator[Path]:
    with api.serve(tmp_path) as path:
        yield path


def refusals(folder: Path, kubeconfig: Path, **settings: object) -> list[str]:
    inv = inventory(folder, dict(settings))
    found = running.probe(inv, kubeconfig=kubeconfig)
    assert found.unknown == []
    try:
        guard.check(inv, found)
    except UserError as error:
        return error.messages
    return []


def test_the_running_versions_pass(tmp_path: Path, kubeconfig: Path) -> None:
    assert refusals(tmp_path, kubeconfig) == []


def test_a_raised_kube_version_is_refused(
    tmp_path: Path, kubeconfig: Path, api: VersionedApi
) -> None:
    api.release = "v1.36.4"
    (said,) = refusals(tmp_path, kubeconfig, kube_version=KUBE)
    assert said == (
        f"Kubernetes runs v1.36.4 but the inventory asks for {KUBE} (kube_version); cluster.up "
        "does not upgrade a running cluster: run invoke cluster.upgrade, or set kube_version "
        "back to 1.36.4."
    )


def test_a_changed_containerd_is_refused(tmp_path: Path, kubeconfig: Path) -> None:
    (said,) = refusals(tmp_path, kubeconfig, containerd_version="2.4.0")
    assert said.startswith(
        f"containerd on cp1, w1 runs {CONTAINERD} but the inventory asks for 2.4.0"
    )
    assert "(containerd_version)" in said and "invoke cluster.upgrade" in said


def test_containerd_from_the_distribution_follows_the_node_release(
    tmp_path: Path, kubeconfig: Path
) -> None:
    (said,) = refusals(tmp_path, kubeconfig, containerd_source="distro")
    # The nodes run Debian 12: its package pin is what the role would install.
    assert "asks for 1.6.20~ds1-1+deb12u3 (containerd_source distro)" in said
    assert said.endswith(
        f"or set containerd_package_version to the installed package of containerd "
        f"{CONTAINERD} (apt-cache policy containerd)."
    )


def test_a_raised_cni_version_is_refused(tmp_path: Path, kubeconfig: Path) -> None:
    (said,) = refusals(tmp_path, kubeconfig, cni_flannel_version="v0.29.0")
    assert said.startswith(f"flannel runs {FLANNEL} but the inventory asks for v0.29.0")
    assert "cni_flannel_version" in said and "invoke cluster.upgrade" in said


def test_another_pod_network_is_refused(tmp_path: Path, kubeconfig: Path) -> None:
    (said,) = refusals(tmp_path, kubeconfig, kube_cni="calico")
    assert "pod network is flannel but the inventory asks for calico" in said


def test_every_difference_is_listed_at_once(tmp_path: Path, kubeconfig: Path) -> None:
    said = refusals(tmp_path, kubeconfig, containerd_version="2.4.0", cni_flannel_version="v0.29.0")
    assert len(said) == 2


def test_a_node_left_behind_is_refused(tmp_path: Path, kubeconfig: Path, api: VersionedApi) -> None:
    node(api, "w2", "1.36.4", CONTAINERD)
    inv = inventory(tmp_path, workers=("w1", "w2"))
    with pytest.raises(UserError) as caught:
        guard.check(inv, running.probe(inv, kubeconfig=kubeconfig))
    (said,) = caught.value.messages
    assert said.startswith(f"The kubelet on w2 runs v1.36.4 but the inventory asks for {KUBE}")


def test_a_fresh_host_joins_within_the_skew_policy(tmp_path: Path, kubeconfig: Path) -> None:
    older = {"w9": {"kube_version": "1.36.4"}}
    inv = inventory(tmp_path / "a", workers=("w1", "w9"), host_vars=older)
    guard.check(inv, running.probe(inv, kubeconfig=kubeconfig))


def test_a_fresh_host_newer_than_the_api_server_is_refused(
    tmp_path: Path, kubeconfig: Path, api: VersionedApi
) -> None:
    api.release = "v1.36.4"
    for name in ("cp1", "w1"):
        api.objects[("", "nodes", "", name)]["status"]["nodeInfo"]["kubeletVersion"] = "v1.36.4"
    newer = {"w9": {"kube_version": KUBE}}
    inv = inventory(tmp_path, {"kube_version": "1.36.4"}, workers=("w1", "w9"), host_vars=newer)
    with pytest.raises(UserError) as caught:
        guard.check(inv, running.probe(inv, kubeconfig=kubeconfig))
    (said,) = caught.value.messages
    assert said.startswith(
        f"The new host w9 would join with kubelet {KUBE}, newer than the API server's"
    )


def test_no_cluster_yet_passes_anything(tmp_path: Path) -> None:
    inv = inventory(tmp_path, {"kube_version": "1.35.9", "containerd_version": "2.4.0"})
    found = running.probe(inv)
    assert found.nothing and found.apiserver is None
    guard.check(inv, found)


def test_an_unreachable_api_is_said_and_left_unchecked(tmp_path: Path) -> None:
    inv = inventory(tmp_path)
    admin = tmp_path / "artifacts" / "admin.conf"
    admin.parent.mkdir()
    admin.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: x, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: x, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\n"
    )
    found = running.probe(inv)
    assert found.made and not found.nothing and found.apiserver is None
    (said,) = found.unknown
    assert "could not be read" in said and "127.0.0.1:9" in said
    guard.check(inv, found)


def test_external_etcd_members_are_compared_one_by_one(tmp_path: Path) -> None:
    inv = inventory(tmp_path, {"etcd_version": ETCD}, etcd=("e1", "e2", "e3"))
    found = running.Running(
        made=True,
        etcd={
            "e1": running.Member(ETCD, True),
            "e2": running.Member("3.5.21", True),
            "e3": running.Member(None, None),  # could not be asked: unchecked
        },
    )
    with pytest.raises(UserError) as caught:
        guard.check(inv, found)
    (said,) = caught.value.messages
    assert said.startswith(
        f"etcd on e2 runs 3.5.21 but the inventory asks for {ETCD} (etcd_version)"
    )
