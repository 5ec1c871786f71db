"""The lab inventory is a plain Ansible inventory that yamllint and Ansible accept."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import subprocess
from pathlib import Path

import yaml

from kubeprimer.lab import inventory, plan
from kubeprimer.paths import ROOT

SUPERNET = ipaddress.IPv4Network("10.139.0.0/16")


def lab(size: int) -> plan.LabPlan:
    return plan.LabPlan("t", size, plan.subnet_of(SUPERNET, 9), plan.proxy_address(SUPERNET), 3142)


def test_written_inventory_parses_with_groups_and_access(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    path = inventory.write(tmp_path / "inv", lab(4), key)
    out = subprocess.run(
        ["ansible-inventory", "-i", str(path), "--list"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    data = json.loads(out)
    assert data["kube_control_plane"]["hosts"] == ["t-1", "t-2", "t-3"]
    assert data["kube_node"]["hosts"] == ["t-4"]
    host = data["_meta"]["hostvars"]["t-4"]
    assert host["ansible_host"] == "10.139.9.14"
    assert host["ansible_user"] == "root"
    assert host["ansible_ssh_private_key_file"] == str(key)
    assert host["kube_api_endpoint"] == "10.139.9.10:8443"
    assert host["proxy_http"] == host["proxy_https"] == "http://10.139.0.1:3142"
    assert host["kubelet_fail_cgroup_v1"] is False
    # Nodes are containers, and Debian's containerd is the one their proxy can fetch.
    assert host["kube_node_in_container"] is True
    assert host["containerd_source"] == "distro"


def test_inventory_passes_yamllint(tmp_path: Path) -> None:
    inventory.write(tmp_path, lab(3), tmp_path / "key")
    subprocess.run(
        ["yamllint", "--strict", "-c", str(ROOT / ".yamllint"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    assert yaml.safe_load((tmp_path / "group_vars" / "all.yml").read_text())["lab_name"] == "t"


def test_remove_keeps_the_users_own_files(tmp_path: Path) -> None:
    inventory.write(tmp_path / "inv", lab(1), tmp_path / "key")
    (tmp_path / "inv" / "notes.txt").write_text("mine")
    inventory.remove(tmp_path / "inv")
    assert sorted(p.name for p in (tmp_path / "inv").iterdir()) == ["notes.txt"]
    (tmp_path / "inv" / "notes.txt").unlink()
    inventory.write(tmp_path / "inv", lab(1), tmp_path / "key")
    inventory.remove(tmp_path / "inv")
    assert not (tmp_path / "inv").exists()


def test_default_lab_writes_inventories_lab() -> None:
    assert inventory.default_dir("kp", "kp") == ROOT / "inventories" / "lab"
    assert inventory.default_dir("dev", "kp") == ROOT / "inventories" / "lab" / "dev"


def test_a_lab_with_a_sudo_user_connects_as_it(tmp_path: Path) -> None:
    path = inventory.write(tmp_path, dataclasses.replace(lab(1), user="deploy"), tmp_path / "key")
    assert "ansible_user: deploy\n" in (path.parent / "group_vars" / "all.yml").read_text()
