"""invoke addons.storage refuses an inventory it cannot act on, before any host is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke import Context, Exit

from kubeprimer.tasks.addons import storage

HOSTS = """\
all:
  hosts:
    cp1: {ansible_host: 192.168.50.11}
  children:
    kube_control_plane: {hosts: {cp1: null}}
    etcd: {hosts: {cp1: null}}
    kube_node: {hosts: {}}
"""


def test_storage_needs_a_server_kind_and_storage_hosts(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(HOSTS)
    with pytest.raises(Exit) as caught:
        storage(Context(), inventory=str(tmp_path / "hosts.yml"))
    assert caught.value.code == 2
    assert str(caught.value.message).splitlines() == [
        "error: storage_server is not set; set it to nfs or glusterfs in group_vars/all.",
        "error: The inventory has no hosts in group storage; add the storage servers there.",
    ]
