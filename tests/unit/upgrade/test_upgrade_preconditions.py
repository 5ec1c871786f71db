"""What stops cluster.upgrade before its first change, from what the probe read: every
refusal at once, a node a stopped run left half-way not counted as unhealthy, and an
external etcd without a Kubernetes cluster checked without the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer import inventory
from kubeprimer.upgrade import preconditions
from kubeprimer.upgrade.plan import Current, Targets, build
from kubeprimer.upgrade.running import Member, Node, Running


def no_api() -> Any:
    raise AssertionError("the API is not needed here")


def inv(tmp_path: Path, **settings: Any) -> inventory.Inventory:
    hosts = {"e1": {}, "e2": {}, "e3": {}, "cp1": {}, "w1": {}}
    children = {
        "kube_control_plane": {"hosts": {"cp1": None}},
        "kube_node": {"hosts": {"w1": None}},
        "etcd": {"hosts": {"e1": None, "e2": None, "e3": None}},
    }
    path = tmp_path / "hosts.yml"
    path.write_text(
        yaml.safe_dump({"all": {"hosts": hosts, "children": children, "vars": settings}})
    )
    return inventory.load_valid(path)


def etcd_only(healthy: bool | None = True, version: str = "3.5.21") -> Running:
    return Running(etcd={m: Member(version, healthy) for m in ("e1", "e2", "e3")})


def test_external_etcd_alone_is_checked_without_the_api(tmp_path: Path) -> None:
    hosts = inv(tmp_path, etcd_mode="external", etcd_version="3.6.14")
    found = etcd_only(healthy=None)
    plan = build(["cp1"], ["w1"], Current(etcd={"e1": "3.5.21"}), Targets("1.37.1", etcd="3.6.14"))
    problems = preconditions.problems(hosts, found, plan, [], no_api)
    assert problems == [
        "The cluster is not healthy: etcd on e1 did not answer; etcd on e2 did not answer; "
        "etcd on e3 did not answer; fix that first (kubectl describe node, the etcd member's "
        "journal) and run invoke cluster.upgrade again."
    ]


@pytest.mark.parametrize(
    ("running", "wanted", "words"),
    [("3.4.23", "3.6.14", "would skip a minor"), ("3.6.14", "3.5.21", "would go down")],
)
def test_etcd_moves_the_rules_refuse_are_named_per_member(
    tmp_path: Path, running: str, wanted: str, words: str
) -> None:
    hosts = inv(tmp_path, etcd_mode="external", etcd_version=wanted)
    plan = build(["cp1"], ["w1"], Current(), Targets("1.37.1"))
    problems = preconditions.problems(hosts, etcd_only(version=running), plan, [], no_api)
    assert len(problems) == 3
    assert all(words in p for p in problems)
    assert [p.split()[2] for p in problems] == ["e1", "e2", "e3"]


def test_kubernetes_refusals_and_a_begun_node_counted_as_ready(tmp_path: Path) -> None:
    hosts = inv(tmp_path, kube_version="1.37.1", etcd_mode="external")
    found = Running(
        apiserver="v1.35.9",
        nodes={
            "cp1": Node("v1.35.9", "2.3.5", True),
            "w1": Node("v1.36.0", "2.3.5", False),
        },
        made=True,
    )
    texts = list(preconditions.versions(hosts, found))
    assert any("would skip a minor" in t for t in texts)
    assert any("The kubelet on w1 would run v1.36.0, newer than the API server" in t for t in texts)
    healthy = preconditions._begun_as_ready(found, ["node:w1"])
    assert healthy.nodes["w1"].ready and not found.nodes["w1"].ready
