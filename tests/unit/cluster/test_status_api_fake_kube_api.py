"""cluster.status's API round against the Kubernetes API TEST DOUBLE, through the real
``kubernetes`` client: nodes and their versions, the control plane's static pods by
component, and the reason when the API server cannot be reached or hangs."""

from __future__ import annotations

import time
from pathlib import Path

from doubles.fake_kube_api import FakeKubeApi

from kubeprimer.cluster import status_api

CONTROL_PLANES = ("cp1", "cp2")


def seeded() -> FakeKubeApi:
    api = FakeKubeApi()
    for node in (*CONTROL_PLANES, "w1"):
        api.add_node(node, ready=node != "w1")
        api.objects[("", "nodes", "", node)]["status"]["nodeInfo"] = {
            "kubeletVersion": "v1.34.2",
            "containerRuntimeVersion": "containerd://2.1.4",
        }
    for node in CONTROL_PLANES:
        for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
            name = f"{component}-{node}"
            labels = {"component": component, "tier": "control-plane"}
            api.add_pod("kube-system", name, node, labels=labels, owner="Node", mirror=True)
            api.set_pod_ready("kube-system", name, not (node == "cp2" and component == "etcd"))
    # Not the control plane's: left out although it runs in kube-system.
    api.add_pod("kube-system", "coredns-1", "w1", labels={"k8s-app": "kube-dns"})
    return api


def test_nodes_and_control_plane_pods_are_read_in_one_round(tmp_path: Path) -> None:
    with seeded().serve(tmp_path) as kubeconfig:
        found = status_api.read(kubeconfig)
    assert found.error == ""
    assert found.version
    assert {n: (v.ready, v.kubelet, v.containerd) for n, v in found.nodes.items()} == {
        "cp1": (True, "v1.34.2", "2.1.4"),
        "cp2": (True, "v1.34.2", "2.1.4"),
        "w1": (False, "v1.34.2", "2.1.4"),
    }
    states = {(p.node, p.component): p.ready for p in found.pods}
    assert len(states) == 8
    assert states[("cp2", "etcd")] is False
    assert states[("cp1", "kube-apiserver")] is True
    assert found.addons == []


def test_an_api_server_that_is_gone_is_a_reason_not_a_traceback(tmp_path: Path) -> None:
    with seeded().serve(tmp_path) as kubeconfig:
        pass  # the server is shut down: its port refuses connections
    found = status_api.read(kubeconfig)
    assert "cannot be reached" in found.error
    assert found.nodes == {} and found.version is None


def test_no_admin_kubeconfig_says_where_it_was_looked_for(tmp_path: Path) -> None:
    found = status_api.read(tmp_path / "artifacts" / "admin.conf")
    assert found.error.startswith("no admin kubeconfig at ")


def test_a_hanging_api_round_is_given_up_after_the_timeout() -> None:
    started = time.monotonic()
    found = status_api.Background(lambda: time.sleep(5) or status_api.Api(), 0.3).result()
    assert time.monotonic() - started < 2
    assert found.error == "the API server did not answer within 0.3 s"
