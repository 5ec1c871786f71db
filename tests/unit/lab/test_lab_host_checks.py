"""Host checks fail with one sentence per problem, naming what to do."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from kubeprimer.errors import UserError
from kubeprimer.lab import host


def test_not_root_and_missing_tools_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(host.shutil, "which", lambda tool: None if "nspawn" in tool else "/x")
    with pytest.raises(UserError) as err:
        host.check_host()
    assert err.value.messages[0].startswith("The lab needs root")
    assert "apt-get install systemd-container" in err.value.messages[1]


def fake_networks(*pairs: tuple[str, str]) -> object:
    def networks() -> Iterator[tuple[ipaddress.IPv4Network, str]]:
        for net, dev in pairs:
            yield ipaddress.IPv4Network(net), dev

    return networks


def test_subnet_clash_names_the_other_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "host_networks", fake_networks(("10.139.0.0/16", "eth1")))
    with pytest.raises(UserError, match=r"clashes with 10.139.0.0/16 on eth1"):
        host.check_free(ipaddress.IPv4Network("10.139.5.0/24"), {"kpbr-kp"}, "lab kp's subnet")


def test_own_bridge_and_unrelated_networks_are_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        host,
        "host_networks",
        fake_networks(
            ("10.139.5.0/24", "kpbr-kp"), ("192.0.2.0/24", "eth0"), ("0.0.0.0/0", "eth0")
        ),
    )
    host.check_free(ipaddress.IPv4Network("10.139.5.0/24"), {"kpbr-kp"}, "lab kp's subnet")


def test_host_networks_reads_real_ip_output() -> None:
    nets = list(host.host_networks())
    assert any(net.network_address.is_loopback for net, _ in nets)
