"""cluster.remove-node and cluster.up --limit refuse before anything is touched.

The etcd membership comes from a clearly named test double of the SSH probe
(``fake_probe``: each host's answer as members_probe.py prints it); the playbook run
and the API connection are replaced by doubles that fail the test if reached, so a
refusal provably changed nothing. The real runs are in
tests/integration/etcd/test_etcd_replace_dead_member_lab_nodes.py and
tests/integration/cluster/test_remove_node_*.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from invoke import Program

from kubeprimer.cluster import etcd_members, join, remove, removed
from kubeprimer.errors import UserError
from kubeprimer.inventory import load_valid
from kubeprimer.tasks import cluster_nodes, ns
from kubeprimer.upgrade import remote

ADDRESSES = {"cp1": "192.0.2.11", "cp2": "192.0.2.12", "cp3": "192.0.2.13", "w1": "192.0.2.21"}
ADDRESSES |= {"e1": "192.0.2.31", "e2": "192.0.2.32", "e3": "192.0.2.33", "e4": "192.0.2.34"}


def write_inventory(folder: Path, groups: dict[str, list[str]], **settings: Any) -> Path:
    hosts = sorted({h for members in groups.values() for h in members})
    data = {
        "all": {
            "hosts": {h: {"ansible_host": ADDRESSES[h]} for h in hosts},
            "vars": {"kube_api_endpoint": "192.0.2.100:8443", **settings},
            "children": {g: {"hosts": dict.fromkeys(m)} for g, m in groups.items()},
        }
    }
    (folder / "hosts.yml").write_text(yaml.safe_dump(data))
    return folder / "hosts.yml"


STACKED = {
    "kube_control_plane": ["cp1", "cp2", "cp3"],
    "kube_node": ["w1"],
    "etcd": ["cp1", "cp2", "cp3"],
}
EXTERNAL = {"kube_control_plane": ["cp1"], "kube_node": ["w1"], "etcd": ["e1", "e2", "e3"]}


def member(name: str, port: int = 2380) -> dict[str, Any]:
    address = ADDRESSES[name]
    return {
        "ID": str(abs(hash(name))),
        "name": name,
        "peerURLs": [f"https://{address}:{port}"],
        "clientURLs": [f"https://{address}:2379"],
    }


def fake_probe(members: list[str], dead: set[str]) -> Callable[..., dict[str, remote.Answer]]:
    """Test double of remote.run with members_probe.py: live hosts answer with the
    membership and health as they see it, dead ones are unreachable over SSH."""

    def run(inv: Any, hosts: list[str], command: str, timeout: int) -> dict[str, remote.Answer]:
        assert "members_probe" in command
        said = {
            "data": True,
            "members": [member(m) for m in members],
            "health": {f"https://{ADDRESSES[m]}:2379": m not in dead for m in members},
            "error": "",
        }
        return {
            h: remote.Answer(False, "", "unreachable over SSH")
            if h in dead
            else remote.Answer(True, json.dumps(said) + "\n")
            for h in hosts
        }

    return run


def test_removing_a_dead_member_keeps_quorum(tmp_path: Path) -> None:
    inv = load_valid(write_inventory(tmp_path, EXTERNAL, etcd_mode="external"))
    plan = remove.inspect(inv, "e3", run=fake_probe(["e1", "e2", "e3"], dead={"e3"}))
    assert plan.etcd_member and not plan.alive and plan.via in {"e1", "e2"}
    assert any("remove e3's etcd member" in s for s in plan.steps())


def test_removing_a_live_member_beside_a_dead_one_is_refused(tmp_path: Path) -> None:
    inv = load_valid(write_inventory(tmp_path, EXTERNAL, etcd_mode="external"))
    with pytest.raises(UserError) as refused:
        remove.inspect(inv, "e1", run=fake_probe(["e1", "e2", "e3"], dead={"e3"}))
    assert refused.value.messages == [
        "Removing e1 would leave 2 etcd members of which only 1 answer, fewer than the 2 a "
        "quorum needs; bring back e3 first."
    ]


def test_a_stacked_control_plane_counts_as_a_member(tmp_path: Path) -> None:
    inv = load_valid(write_inventory(tmp_path, STACKED))
    with pytest.raises(UserError, match="Removing cp1 would leave 2 etcd members"):
        remove.inspect(inv, "cp1", run=fake_probe(["cp1", "cp2", "cp3"], dead={"cp2"}))
    plan = remove.inspect(inv, "cp2", run=fake_probe(["cp1", "cp2", "cp3"], dead={"cp2"}))
    assert plan.control_plane and plan.etcd_member and plan.via in {"cp1", "cp3"}


def test_no_member_answering_is_refused_but_no_etcd_at_all_is_not(tmp_path: Path) -> None:
    inv = load_valid(write_inventory(tmp_path, STACKED))
    everyone_dead = fake_probe(["cp1", "cp2", "cp3"], dead={"cp1", "cp2", "cp3"})
    no_data = etcd_members.Membership(None, "", (), ("cp2",), ("cp2: no member answered",))
    assert etcd_members.removal_refusal(no_data, "cp1", "192.0.2.11") is None
    with pytest.raises(UserError, match="No etcd member answered"):
        found, _ = etcd_members.read(inv, ["cp2", "cp3"], run=everyone_dead)
        refusal = etcd_members.removal_refusal(
            etcd_members.Membership(None, "", ("cp2",), (), found.problems), "cp1", "x"
        )
        raise UserError(refusal or "")


def test_static_refusals(tmp_path: Path) -> None:
    inv = load_valid(
        write_inventory(tmp_path, {"kube_control_plane": ["cp1"], "kube_node": ["w1"]})
    )
    with pytest.raises(UserError, match="cp1 is the last control plane"):
        remove.static_refusals(inv, "cp1")
    with pytest.raises(UserError, match="nosuch is not in"):
        remove.static_refusals(inv, "nosuch")
    remove.static_refusals(inv, "w1")


def test_a_join_while_a_dead_member_still_counts_is_refused(tmp_path: Path) -> None:
    inv = load_valid(write_inventory(tmp_path, STACKED))
    # cp3 dead but still a member; a fourth control plane would need 3 of 4.
    found = etcd_members.Membership(
        tuple(
            etcd_members._member(member(m), {f"https://{ADDRESSES[m]}:2379": m != "cp3"})
            for m in ("cp1", "cp2", "cp3")
        ),
        "cp1",
        ("cp1",),
        ("cp1", "cp2"),
        (),
    )
    refusal = etcd_members.join_refusal(found, {"cp4": "192.0.2.14"})
    assert refusal == (
        "Adding cp4 would make 4 etcd members of which only 2 answer, fewer than the 3 a "
        "quorum needs; remove the dead members (cp3) with invoke cluster.remove-node first."
    )
    # After the removal, two healthy members take a third.
    found = etcd_members.Membership(
        found.members[:2] if found.members else None, "cp1", ("cp1",), (), ()
    )
    assert etcd_members.join_refusal(found, {"cp4": "192.0.2.14"}) is None
    # No data anywhere: the cluster is being made, not joined.
    made = etcd_members.Membership(None, "", (), (), ())
    assert etcd_members.join_refusal(made, {"cp1": "192.0.2.11"}) is None
    assert inv.hosts["cp1"]


def test_limit_touches_the_new_hosts_and_what_learns_about_them(tmp_path: Path) -> None:
    inv = load_valid(write_inventory(tmp_path, EXTERNAL, etcd_mode="external"))
    assert join.plan(inv, "w1").limit == "w1,cp1,localhost"
    assert join.plan(inv, "e3").limit == "e3,localhost"
    with pytest.raises(UserError) as unknown:
        join.plan(inv, "w1, e9")
    assert unknown.value.messages == [
        f"--limit names e9, which is not in {inv.path}; add it to the inventory first, or "
        "pick from: cp1, e1, e2, e3, w1."
    ]


def test_a_removed_host_still_listed_stops_cluster_up(tmp_path: Path) -> None:
    inv = load_valid(write_inventory(tmp_path, EXTERNAL, etcd_mode="external"))
    removed.record(inv, "e3", ["etcd member"])
    assert (tmp_path / ".removed-nodes.yml").is_file()
    with pytest.raises(
        UserError,
        match=r"e3 was removed with invoke cluster.remove-node on .* "
        r"delete it from the inventory, or add it back on purpose with "
        r"invoke cluster.up --limit e3\.",
    ):
        cluster_nodes.before_up(inv, None)
    # Named on purpose, it joins (the quorum check asks the other members).
    joining = join.plan(inv, "e3")
    join.refuse_removed(inv, joining.hosts)
    cluster_nodes.after_up(inv, joining)
    assert not (tmp_path / ".removed-nodes.yml").exists()


def _nothing_may_happen(monkeypatch: pytest.MonkeyPatch) -> None:
    def touched(*_: Any, **__: Any) -> Any:
        raise AssertionError("a refusal reached the hosts or the cluster")

    monkeypatch.setattr(remote, "run", touched)
    monkeypatch.setattr(cluster_nodes, "play_on", touched)
    monkeypatch.setattr(cluster_nodes, "_connect", touched)


def _invoke(*argv: str) -> int:
    try:
        Program(namespace=ns, name="invoke", binary="invoke").run(["invoke", *argv], exit=True)
    except SystemExit as stopped:
        return int(stopped.code or 0)
    return 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["nosuch", "--yes"], "error: nosuch is not in"),
        (["cp1", "--yes"], "error: cp1 is the last control plane"),
        (["w1"], "needs confirmation: run it in a terminal, or add --yes."),
        (["w1", "--yes", "--drain-timeout", "0"], "error: --drain-timeout is 0"),
    ],
)
def test_remove_node_refusals_touch_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    said: str,
) -> None:
    inventory = write_inventory(tmp_path, {"kube_control_plane": ["cp1"], "kube_node": ["w1"]})
    _nothing_may_happen(monkeypatch)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code = _invoke("cluster.remove-node", *args, "-i", str(inventory))
    err = capsys.readouterr().err
    assert code == 2 and said in err and err.count("error:") == 1, err
    assert not (tmp_path / ".removed-nodes.yml").exists()


def test_cluster_up_limit_refusals_touch_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = write_inventory(tmp_path, {"kube_control_plane": ["cp1"], "kube_node": ["w1"]})
    _nothing_may_happen(monkeypatch)
    code = _invoke("cluster.up", "--limit", "w9", "-i", str(inventory))
    err = capsys.readouterr().err
    assert code == 2 and "--limit names w9" in err, err
