"""The lab hands its nodes' host keys to the inventory it writes, so no run trusts on first use."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from kubeprimer.ansible import hostkeys
from kubeprimer.lab import inventory, plan

SUPERNET = ipaddress.IPv4Network("10.139.0.0/16")
LINE = "t-1,10.139.9.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEcf1x8KLoWEdRthWUkHbAkzOHS8s+Lc0eelphFGI9H/\n"


def test_inventory_gets_the_labs_known_hosts_and_loses_it_on_remove(tmp_path: Path) -> None:
    lab = plan.LabPlan("t", 1, plan.subnet_of(SUPERNET, 9), plan.proxy_address(SUPERNET), 3142)
    own = tmp_path / "state" / "known_hosts"
    own.parent.mkdir()
    own.write_text(LINE)
    hosts = inventory.write(tmp_path / "inv", lab, tmp_path / "key", own)
    # The very file every run checks keys against.
    assert hostkeys.known_hosts(hosts).read_text() == LINE
    (tmp_path / "inv" / "known_hosts.old").write_text(LINE)  # what ssh-keygen -R leaves
    inventory.remove(tmp_path / "inv")
    assert not (tmp_path / "inv").exists()
