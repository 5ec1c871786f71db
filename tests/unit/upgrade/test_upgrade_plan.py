"""The cluster.upgrade plan: every change in the order the run takes it, batches of
workers, containerd inside each node's window, finished units shown as done."""

from __future__ import annotations

from kubeprimer.output import plain_lines
from kubeprimer.upgrade.plan import Current, Targets, build

CPS = ["cp1", "cp2", "cp3"]
WORKERS = ["w1", "w2", "w3"]
NODES = [*CPS, *WORKERS]


def running(kube: str = "v1.36.4", containerd: str = "2.3.5") -> Current:
    return Current(
        apiserver=kube,
        kubelet=dict.fromkeys(NODES, kube),
        containerd=dict.fromkeys(NODES, containerd),
        cni="v0.28.9",
        etcd={"e1": "3.5.21", "e2": "3.5.21", "e3": "3.5.21"},
        etcd_leader="e1",
    )


def targets(kube: str = "1.37.1", containerd: str = "2.3.5", etcd: str | None = None) -> Targets:
    return Targets(
        kubernetes=kube,
        containerd=dict.fromkeys(NODES, containerd),
        cni="v0.28.9",
        cni_name="flannel",
        etcd=etcd,
    )


def order(plan_rows: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(r["step"], r["component"], r["host"]) for r in plan_rows]


def test_a_minor_upgrade_runs_apply_then_control_planes_then_nodes_in_batches() -> None:
    plan = build(CPS, WORKERS, running(), targets(), max_unavailable=2)
    assert order(plan.data()) == [
        ("apply", "kubernetes", "cp1"),
        ("control-plane", "kubernetes", "cp2"),
        ("control-plane", "kubernetes", "cp3"),
        ("node", "kubelet", "cp1"),
        ("node", "kubelet", "cp2"),
        ("node", "kubelet", "cp3"),
        ("node", "kubelet", "w1"),
        ("node", "kubelet", "w2"),
        ("node", "kubelet", "w3"),
    ]
    workers = [s for s in plan.steps if s.kind == "node" and s.batch]
    assert [s.hosts for s in workers] == [("w1", "w2"), ("w3",)]
    assert all(r["from"] == "v1.36.4" and r["to"] == "1.37.1" for r in plan.data())
    assert {r["status"] for r in plan.data()} == {"pending"}


def test_external_etcd_goes_first_with_the_leader_last() -> None:
    plan = build(CPS, WORKERS, running(), targets(etcd="3.6.14"))
    etcd = [r for r in plan.data() if r["step"] == "etcd"]
    assert [r["host"] for r in etcd] == ["e2", "e3", "e1"]
    assert "leader" in str(etcd[-1]["action"])
    assert plan.data()[0]["step"] == "etcd"
    assert plan.steps[0].units == ("etcd",)


def test_containerd_moves_inside_the_node_window_and_the_cni_after_the_control_planes() -> None:
    now = Current(
        apiserver="v1.37.1",
        kubelet=dict.fromkeys(NODES, "v1.37.1"),
        containerd={**dict.fromkeys(NODES, "2.3.5"), "w2": "2.3.4"},
        cni="v0.28.8",
    )
    plan = build(CPS, WORKERS, now, targets())
    assert order(plan.data()) == [("cni", "cni", None), ("node", "containerd", "w2")]
    step = plan.steps[-1]
    assert step.kind == "node" and step.hosts == ("w2",)
    assert plan.data()[0]["to"] == "flannel v0.28.9"


def test_finished_units_show_as_done_and_are_not_run_again() -> None:
    done = ["apply", "control-plane:cp2", "node:cp1", "node:w2"]
    plan = build(CPS, WORKERS, running(), targets(), done=done, max_unavailable=1)
    status = {(r["step"], r["host"]): r["status"] for r in plan.data()}
    assert status[("apply", "cp1")] == "done"
    assert status[("control-plane", "cp2")] == "done"
    assert status[("control-plane", "cp3")] == "pending"
    assert status[("node", "cp1")] == "done"
    assert status[("node", "w2")] == "done"
    assert status[("node", "w1")] == "pending"
    pending = [s.units for s in plan.pending]
    assert pending == [
        ("control-plane:cp3",),
        ("node:cp2",),
        ("node:cp3",),
        ("node:w1",),
        ("node:w3",),
    ]


def test_a_done_node_whose_kubelet_now_matches_stays_listed_as_done() -> None:
    now = running()
    moved = Current(
        apiserver="v1.37.1",
        kubelet={**now.kubelet, "cp1": "v1.37.1", "w1": "v1.37.1"},
        containerd=now.containerd,
        cni=now.cni,
    )
    plan = build(CPS, WORKERS, moved, targets(), done=["apply", "node:cp1", "node:w1"])
    rows = {(r["step"], r["host"]): r["status"] for r in plan.data()}
    assert rows[("node", "cp1")] == "done"
    assert rows[("node", "w1")] == "done"
    assert rows[("node", "w2")] == "pending"


def test_nothing_to_do_when_everything_runs_the_targets() -> None:
    plan = build(CPS, WORKERS, running("v1.37.1"), targets())
    assert plan.nothing_to_do
    assert plan.data() == []


def test_an_absent_cluster_has_nothing_to_upgrade() -> None:
    plan = build(CPS, WORKERS, Current(), targets())
    assert plan.nothing_to_do and not plan.running


def test_addon_updates_are_listed_for_addons_install_and_never_run() -> None:
    addons = [("metallb", "v0.14.8", "v0.15.2")]
    plan = build(CPS, WORKERS, running("v1.37.1"), targets(), addons=addons)
    assert plan.nothing_to_do
    (row,) = plan.data()
    assert (row["component"], row["host"], row["from"], row["to"]) == (
        "addon metallb",
        None,
        "v0.14.8",
        "v0.15.2",
    )
    assert row["status"] == "run addons.install"


def test_the_listing_has_one_line_per_change_with_from_and_to() -> None:
    plan = build(CPS, ["w1"], running(), targets(), done=["apply"])
    lines = plain_lines(plan.listing())
    assert lines[1].split() == ["#", "STEP", "COMPONENT", "HOST", "FROM", "TO", "ACTION", "STATUS"]
    assert "kubeadm upgrade apply" in lines[2] and lines[2].endswith("done")
    assert len(lines) == 2 + len(plan.data())
    assert any("batch 1" in line and "w1" in line for line in lines)


def test_a_node_an_earlier_run_began_runs_again_though_its_kubelet_already_matches() -> None:
    now = running("v1.37.1")
    moved = Current(
        apiserver="v1.37.1",
        kubelet={**now.kubelet, "w2": None},  # NotReady: its version not reported yet
        containerd=now.containerd,
        cni=now.cni,
    )
    plan = build(CPS, WORKERS, moved, targets(), done=["node:w1"], begun=["node:w2"])
    assert [s.units for s in plan.pending] == [("node:w2",)]
    (row,) = [r for r in plan.data() if r["host"] == "w2"]
    assert row["action"] == "begun by an earlier run" and row["status"] == "pending"
