"""Cordon, drain, budgets and readiness against the Kubernetes API TEST DOUBLE, through
the real ``kubernetes`` client (evictions, 429 refusals and node conditions as the
real server answers them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doubles.fake_kube_api import FakeKubeApi

from kubeprimer.addons.kube import connect
from kubeprimer.cluster import drain
from kubeprimer.errors import UserError

FAST = 0.02  # seconds between polls: the double answers at once


@pytest.fixture
def fake_api() -> FakeKubeApi:
    api = FakeKubeApi()
    for node in ("n1", "n2"):
        api.add_node(node)
    return api


@pytest.fixture
def client(fake_api: FakeKubeApi, tmp_path: Path) -> Iterator[Any]:
    with fake_api.serve(tmp_path) as kubeconfig:
        yield connect(kubeconfig)


def evictions(fake_api: FakeKubeApi) -> list[str]:
    return [path for method, path in fake_api.requests if path.endswith("/eviction")]


def test_cordon_and_uncordon_say_whether_they_changed_the_node(
    fake_api: FakeKubeApi, client: Any
) -> None:
    assert drain.cordon(client, "n1") is True
    assert fake_api.find("Node", "", "n1")["spec"]["unschedulable"] is True
    assert drain.cordon(client, "n1") is False
    assert drain.uncordon(client, "n1") is True
    assert "unschedulable" not in fake_api.find("Node", "", "n1")["spec"]
    assert drain.uncordon(client, "n1") is False
    assert fake_api.find("Node", "", "n2")["spec"] == {}


def test_cordon_of_a_node_the_cluster_does_not_have_is_one_sentence(client: Any) -> None:
    with pytest.raises(UserError, match="The node ghost is not in the cluster"):
        drain.cordon(client, "ghost")


def test_drain_evicts_workload_pods_and_keeps_daemonset_and_mirror_pods(
    fake_api: FakeKubeApi, client: Any
) -> None:
    fake_api.add_pod("default", "web-1", "n1", {"app": "web"})
    fake_api.add_pod(
        "default", "cache-1", "n1", {"app": "cache"}, owner="StatefulSet", empty_dir=True
    )
    fake_api.add_pod("kube-system", "proxy-n1", "n1", owner="DaemonSet")
    fake_api.add_pod("kube-system", "kube-apiserver-n1", "n1", owner="Node", mirror=True)
    fake_api.add_pod("default", "web-2", "n2", {"app": "web"})

    drain.drain(client, "n1", timeout=5, poll=FAST)

    assert fake_api.find("Node", "", "n1")["spec"]["unschedulable"] is True
    assert fake_api.find("Pod", "default", "web-1") is None
    assert fake_api.find("Pod", "default", "cache-1") is None  # emptyDir data goes with it
    assert fake_api.find("Pod", "kube-system", "proxy-n1") is not None
    assert fake_api.find("Pod", "kube-system", "kube-apiserver-n1") is not None
    assert fake_api.find("Pod", "default", "web-2") is not None
    # Through the Eviction subresource, so budgets are asked; never a plain DELETE.
    assert sorted(evictions(fake_api)) == [
        "/api/v1/namespaces/default/pods/cache-1/eviction",
        "/api/v1/namespaces/default/pods/web-1/eviction",
    ]
    assert not [p for m, p in fake_api.requests if m == "DELETE"]


def test_a_bare_pod_stops_the_drain_before_the_node_is_cordoned(
    fake_api: FakeKubeApi, client: Any
) -> None:
    fake_api.add_pod("default", "debug", "n1", owner="")
    fake_api.add_pod("default", "web-1", "n1", {"app": "web"})

    with pytest.raises(UserError, match=r"default/debug.*pass --force") as refused:
        drain.drain(client, "n1", timeout=5, poll=FAST)

    assert len(refused.value.messages) == 1
    assert fake_api.find("Node", "", "n1")["spec"] == {}
    assert fake_api.find("Pod", "default", "web-1") is not None
    assert evictions(fake_api) == []

    drain.drain(client, "n1", timeout=5, poll=FAST, force=True)
    assert fake_api.find("Pod", "default", "debug") is None


def test_a_budget_that_never_allows_ends_in_drain_timeout_naming_pod_and_budget(
    fake_api: FakeKubeApi, client: Any
) -> None:
    fake_api.add_pod("shop", "web-1", "n1", {"app": "web"})
    fake_api.add_budget("shop", "web-pdb", {"app": "web"}, allowed=0)

    started = time.monotonic()
    with pytest.raises(drain.DrainTimeout) as late:
        drain.drain(client, "n1", timeout=0.5, poll=FAST)

    assert time.monotonic() - started < 3
    message = str(late.value)
    assert "The node n1 was not drained after" in message
    assert "shop/web-1" in message
    assert "shop/web-pdb: disruptionsAllowed 0, covers shop/web-1" in message
    assert not isinstance(late.value, UserError)  # exit 1: the cluster, not the input
    assert fake_api.find("Pod", "shop", "web-1") is not None
    assert len(evictions(fake_api)) > 3  # asked again and again, not once


def test_a_budget_that_allows_after_refusals_lets_the_drain_finish(
    fake_api: FakeKubeApi, client: Any
) -> None:
    fake_api.add_pod("shop", "web-1", "n1", {"app": "web"})
    fake_api.add_pod("shop", "web-2", "n1", {"app": "web"})
    fake_api.add_budget("shop", "web-pdb", {"app": "web"}, allowed=0)
    fake_api.budget_release = {"shop/web-pdb": 3}

    drain.drain(client, "n1", timeout=10, poll=FAST)

    assert fake_api.find("Pod", "shop", "web-1") is None
    assert fake_api.find("Pod", "shop", "web-2") is None
    # Each pod: three refusals (429), then the eviction that went through.
    assert len(evictions(fake_api)) >= 8


def test_the_servers_retry_after_is_waited_for(fake_api: FakeKubeApi, client: Any) -> None:
    fake_api.add_pod("shop", "web-1", "n1", {"app": "web"})
    fake_api.add_budget("shop", "web-pdb", {"app": "web"}, allowed=0)
    fake_api.budget_release = {"shop/web-pdb": 1}
    fake_api.retry_after = 1

    started = time.monotonic()
    drain.drain(client, "n1", timeout=10, poll=FAST)

    assert time.monotonic() - started >= 1.0
    assert len(evictions(fake_api)) == 2


def test_two_budgets_on_one_pod_stop_the_drain_with_the_servers_reason(
    fake_api: FakeKubeApi, client: Any
) -> None:
    fake_api.add_pod("shop", "web-1", "n1", {"app": "web", "tier": "front"})
    fake_api.add_budget("shop", "by-app", {"app": "web"}, allowed=1)
    fake_api.add_budget("shop", "by-tier", {"tier": "front"}, allowed=1)

    with pytest.raises(drain.EvictionFailed, match="more than one PodDisruptionBudget"):
        drain.drain(client, "n1", timeout=5, poll=FAST)


def test_blocking_budgets_lists_budgets_at_zero_that_cover_pods_on_the_nodes(
    fake_api: FakeKubeApi, client: Any
) -> None:
    fake_api.add_pod("shop", "web-1", "n1", {"app": "web"})
    fake_api.add_pod("shop", "db-1", "n2", {"app": "db"})
    fake_api.add_pod("shop", "api-1", "n1", {"app": "api"})
    fake_api.add_pod("kube-system", "agent-n1", "n1", {"app": "agent"}, owner="DaemonSet")
    fake_api.add_budget("shop", "web-pdb", {"app": "web"}, allowed=0)
    fake_api.add_budget("shop", "db-pdb", {"app": "db"}, allowed=0)  # pods on n2 only
    fake_api.add_budget("shop", "api-pdb", {"app": "api"}, allowed=1)  # allows one
    fake_api.add_budget("kube-system", "agent-pdb", {"app": "agent"}, allowed=0)  # DaemonSet
    fake_api.add_budget("other", "web-pdb", {"app": "web"}, allowed=0)  # other namespace

    assert drain.blocking_budgets(client, ["n1"]) == [
        "shop/web-pdb: disruptionsAllowed 0, covers shop/web-1"
    ]
    assert drain.blocking_budgets(client, ["n1", "n2"]) == [
        "shop/db-pdb: disruptionsAllowed 0, covers shop/db-1",
        "shop/web-pdb: disruptionsAllowed 0, covers shop/web-1",
    ]
    assert drain.blocking_budgets(client, []) == []
    assert not [m for m, _ in fake_api.requests if m in ("PATCH", "POST", "DELETE")]


def test_wait_ready_returns_once_the_kubelet_reports_ready(
    fake_api: FakeKubeApi, client: Any
) -> None:
    fake_api.ready_after = {"n1": 3}
    drain.wait_ready(client, "n1", timeout=5, poll=FAST)
    assert fake_api.ready_after == {"n1": 0}


def test_a_node_that_stays_not_ready_is_named_with_the_kubelets_reason(
    fake_api: FakeKubeApi, client: Any
) -> None:
    fake_api.not_ready = {"n2"}
    with pytest.raises(
        drain.NodeNotReady,
        match=r"The node n2 is not Ready after 0.2 s \(Ready is False: container runtime is down\)",
    ):
        drain.wait_ready(client, "n2", timeout=0.2, poll=FAST)
    with pytest.raises(drain.NodeNotReady, match=r"ghost.*has not registered"):
        drain.wait_ready(client, "ghost", timeout=0.1, poll=FAST)


@pytest.mark.parametrize(
    ("selector", "labels", "selected"),
    [
        ({}, {"app": "web"}, True),  # policy/v1: empty selects every pod
        (None, {"app": "web"}, False),
        ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "1"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
        (
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "db"]}]},
            {"app": "db"},
            True,
        ),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, {}, True),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, {}, True),
        ({"matchExpressions": [{"key": "app", "operator": "Bogus"}]}, {"app": "web"}, False),
    ],
)
def test_budget_selectors_follow_label_selector_rules(
    selector: dict[str, Any] | None, labels: dict[str, str], selected: bool
) -> None:
    assert drain.selects(selector, labels) is selected
