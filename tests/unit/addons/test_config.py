"""Addon settings: defaults overlaid with the inventory, checked before rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeprimer.addons import catalog, config
from kubeprimer.errors import UserError

CLUSTER = {"kube_node_cidr": "192.168.10.0/24"}


def test_defaults_apply_when_the_inventory_says_nothing(samples: Path) -> None:
    resolved = config.resolve(catalog.get("web", samples), {})
    assert resolved.settings == {
        "replicas": 2,
        "mode": "hostport",
        "extra": False,
        "greeting": "hello",
    }
    assert resolved.warnings == ()


def test_nested_and_flat_overrides_flat_wins(samples: Path) -> None:
    inv = {"addons_web": {"replicas": 3, "greeting": "hi"}, "addons_web_replicas": 5}
    resolved = config.resolve(catalog.get("web", samples), inv)
    assert resolved.settings["replicas"] == 5
    assert resolved.settings["greeting"] == "hi"


def test_every_problem_is_one_sentence_reported_together(samples: Path) -> None:
    inv = {
        "addons_web_replicas": "two",
        "addons_web_mode": "hostnetwork",
        "addons_web_colour": "red",
    }
    with pytest.raises(UserError) as caught:
        config.resolve(catalog.get("web", samples), inv)
    assert caught.value.messages == [
        "addons_web_colour is not a setting of web (settings: extra, greeting, mode, replicas).",
        "addons_web_replicas must be a whole number, not 'two'.",
        "addons_web_mode is 'hostnetwork'; set it to one of hostport, nodeport.",
    ]


def test_a_bool_is_not_a_number(samples: Path) -> None:
    with pytest.raises(UserError, match="addons_web_replicas must be a whole number, not True"):
        config.resolve(catalog.get("web", samples), {"addons_web_replicas": True})


def test_addon_checks_run_after_types(samples: Path) -> None:
    with pytest.raises(UserError) as caught:
        config.resolve(catalog.get("web", samples), {"addons_web_replicas": 0})
    assert caught.value.messages == ["addons_web_replicas is 0; set it to 1 or more."]


def test_warnings_are_returned_not_raised(samples: Path) -> None:
    resolved = config.resolve(catalog.get("web", samples), {"addons_web_mode": "nodeport"})
    assert resolved.warnings == ("nodeport mode opens a port on every node.",)


@pytest.mark.parametrize(
    ("addresses", "message"),
    [
        ([], "addons_pool_addresses is empty; list at least one address range."),
        (
            ["10.0.0.1-10.0.0.9"],
            "addons_pool_addresses 10.0.0.1-10.0.0.9 lies outside the node network 192.168.10.0/24.",
        ),
        (
            ["192.168.10.240/27", "nonsense"],
            "addons_pool_addresses has nonsense, which is not a CIDR or an A-B range.",
        ),
        (
            ["192.168.10.250-192.168.10.240"],
            "addons_pool_addresses has 192.168.10.250-192.168.10.240, which is not a CIDR or an A-B range.",
        ),
    ],
)
def test_address_pools_must_lie_in_the_node_network(
    samples: Path, addresses: list[str], message: str
) -> None:
    with pytest.raises(UserError) as caught:
        config.resolve(
            catalog.get("pool", samples), {**CLUSTER, "addons_pool_addresses": addresses}
        )
    assert caught.value.messages == [message]


def test_a_pool_inside_the_node_network_passes(samples: Path) -> None:
    inv = {
        **CLUSTER,
        "addons_pool": {"addresses": ["192.168.10.240/28", "192.168.10.200-192.168.10.210"]},
    }
    assert (
        config.resolve(catalog.get("pool", samples), inv).settings["addresses"][0]
        == "192.168.10.240/28"
    )


def test_unknown_addon_names_the_known_ones(samples: Path) -> None:
    with pytest.raises(UserError, match=r"There is no addon nope; choose one of pool, web\."):
        catalog.get("nope", samples)


def test_addons_come_in_install_order(samples: Path) -> None:
    assert [a.name for a in catalog.all_addons(samples)] == ["pool", "web"]


def test_all_means_addons_enabled_in_install_order() -> None:
    from kubeprimer.addons.actions import selected

    chosen = selected(["all"], {"addons_enabled": ["monitoring", "ingress", "metallb"]}, "addon")
    assert [a.name for a in chosen] == ["metallb", "ingress", "monitoring"]
    with pytest.raises(UserError, match="addons_enabled is empty; list the addons 'all' means"):
        selected(["all"], {}, "addon")
    with pytest.raises(UserError, match=r"There is no addon demo; choose one of .*monitoring"):
        selected(["demo"], {}, "addon")
