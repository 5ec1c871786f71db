"""Lab names, addresses and groups: the predictable part of a lab, computed offline."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from kubeprimer.errors import UserError
from kubeprimer.lab import plan

SUPERNET = ipaddress.IPv4Network("10.139.0.0/16")


def make(size: int, name: str = "kp", slot: int = 5) -> plan.LabPlan:
    return plan.LabPlan(
        name=name,
        size=size,
        subnet=plan.subnet_of(SUPERNET, slot),
        proxy=plan.proxy_address(SUPERNET),
        proxy_port=3142,
    )


@pytest.mark.parametrize("name", ["kp", "a", "lab12345", "m0a1b2c"])
def test_good_names(name: str) -> None:
    plan.check_name(name)


@pytest.mark.parametrize("name", ["", "Kp", "1lab", "lab-1", "toolongname", "a_b"])
def test_bad_names_are_one_sentence(name: str) -> None:
    with pytest.raises(UserError) as err:
        plan.check_name(name)
    assert len(err.value.messages) == 1 and "letters or digits" in err.value.messages[0]


@pytest.mark.parametrize("size", [0, -1, 13])
def test_size_out_of_range(size: int) -> None:
    with pytest.raises(UserError, match="from 1 to 12"):
        plan.check_size(size, 12)


def test_supernet_must_be_private_and_large_enough() -> None:
    assert plan.supernet_of("10.139.0.0/16") == SUPERNET
    for bad in ("8.8.0.0/16", "10.139.0.0/24", "not-a-net"):
        with pytest.raises(UserError):
            plan.supernet_of(bad)


def test_slot_is_stable_and_never_the_proxy_slot() -> None:
    slots = {plan.preferred_slot(f"lab{i}", SUPERNET) for i in range(500)}
    assert plan.PROXY_SLOT not in slots
    assert plan.preferred_slot("kp", SUPERNET) == plan.preferred_slot("kp", SUPERNET)


def test_taken_slot_moves_to_the_next_free_one() -> None:
    first = plan.choose_slot("kp", SUPERNET, set())
    second = plan.choose_slot("kp", SUPERNET, {first})
    assert second != first and second != plan.PROXY_SLOT
    with pytest.raises(UserError, match="Every lab subnet is in use"):
        plan.choose_slot("kp", SUPERNET, set(range(1, 256)))


def test_addresses_are_predictable() -> None:
    lab = make(3)
    assert str(lab.subnet) == "10.139.5.0/24"
    assert str(lab.gateway) == "10.139.5.1"
    assert [str(n.address) for n in lab.nodes] == ["10.139.5.11", "10.139.5.12", "10.139.5.13"]
    assert [n.name for n in lab.nodes] == ["kp-1", "kp-2", "kp-3"]
    assert lab.bridge == "kpbr-kp" and len("kpbr-" + "x" * 8) <= 15
    assert lab.proxy_url == "http://10.139.0.1:3142"


def groups(size: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for n in make(size).nodes:
        for g in n.groups:
            found.setdefault(g, []).append(n.name)
    return found


def test_one_node_is_all_in_one() -> None:
    assert groups(1) == {"kube_control_plane": ["kp-1"], "etcd": ["kp-1"], "kube_node": ["kp-1"]}
    assert make(1).api_endpoint == "10.139.5.11"


def test_three_nodes_one_control_plane_with_etcd_two_workers() -> None:
    assert groups(3) == {
        "kube_control_plane": ["kp-1"],
        "etcd": ["kp-1"],
        "kube_node": ["kp-2", "kp-3"],
    }
    assert not make(3).ha


@pytest.mark.parametrize("size", [4, 7, 12])
def test_larger_labs_get_an_ha_control_plane_of_three_behind_a_vip(size: int) -> None:
    found = groups(size)
    assert found["kube_control_plane"] == ["kp-1", "kp-2", "kp-3"] == found["etcd"]
    assert len(found["kube_node"]) == size - 3
    lab = make(size)
    assert lab.api_endpoint == f"{lab.vip}:8443" == "10.139.5.10:8443"
    assert lab.vip not in {n.address for n in lab.nodes}


RELEASES = ("bookworm", "trixie")


@pytest.mark.parametrize(
    ("given", "size", "expected"),
    [
        ("trixie", 3, ("trixie", "trixie", "trixie")),
        ("bookworm,trixie", 3, ("bookworm", "trixie", "bookworm")),
        ("trixie, bookworm", 2, ("trixie", "bookworm")),
        ("bookworm,trixie,trixie", 4, ("bookworm", "trixie", "trixie", "bookworm")),
    ],
)
def test_nodes_take_the_os_list_in_turn(given: str, size: int, expected: tuple[str, ...]) -> None:
    assert plan.node_releases(plan.parse_os(given), size, RELEASES) == expected


@pytest.mark.parametrize(
    ("given", "size", "message"),
    [
        ("sid", 1, "--os names 'sid', not a release lab nodes run; give bookworm or trixie"),
        ("bookworm,", 2, "--os names '', not a release"),
        ("Trixie", 1, "--os names 'Trixie'"),
        ("bookworm,trixie", 1, "--os gives 2 releases for 1 node;"),
    ],
)
def test_bad_os_is_one_sentence(given: str, size: int, message: str) -> None:
    with pytest.raises(UserError) as raised:
        plan.node_releases(plan.parse_os(given), size, RELEASES)
    assert raised.value.messages[0].startswith(message)
    assert len(raised.value.messages) == 1 and "\n" not in raised.value.messages[0]


def test_each_node_carries_its_release() -> None:
    lab = dataclasses.replace(make(3), releases=("bookworm", "trixie", "bookworm"))
    assert [n.release for n in lab.nodes] == ["bookworm", "trixie", "bookworm"]
