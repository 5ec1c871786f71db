"""The Ansible inventory of a lab: the same shape as a bare-metal inventory.

``hosts.yml`` lists the nodes and their groups; ``group_vars/all.yml`` holds how to
reach them (over SSH with the lab's key, as root or as the lab's sudo user) and the
cluster settings a lab needs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from kubeprimer.lab.plan import LabPlan
from kubeprimer.paths import INVENTORIES

GROUPS = ("kube_control_plane", "etcd", "kube_node")
# Beside the inventory, where every kubeprimer run checks host keys (kubeprimer.ansible.hostkeys).
KNOWN_HOSTS = "known_hosts"
HEADER = "# Written by `invoke lab.up`; `invoke lab.down` removes it. Do not edit.\n"


def default_dir(name: str, default_name: str) -> Path:
    """inventories/lab/ for the default lab, inventories/lab/<name>/ for any other.

    Everything generated stays below inventories/lab/, which git and the linters skip.
    """
    return INVENTORIES / "lab" if name == default_name else INVENTORIES / "lab" / name


def hosts(plan: LabPlan) -> dict[str, Any]:
    children: dict[str, Any] = {
        group: {"hosts": {n.name: None for n in plan.nodes if group in n.groups}}
        for group in GROUPS
    }
    return {
        "all": {
            "hosts": {n.name: {"ansible_host": str(n.address)} for n in plan.nodes},
            "children": children,
        }
    }


def group_vars(plan: LabPlan, key: Path, directory: Path) -> dict[str, Any]:
    return {
        "ansible_user": plan.user,
        "ansible_ssh_private_key_file": str(key),
        # A hand-run ansible or ansible-playbook on this inventory checks the nodes' keys
        # against the same file; without this it would use ~/.ssh/known_hosts, where a
        # lab of the same address from an earlier day holds another key.
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={directory.resolve() / KNOWN_HOSTS}",
        "ansible_python_interpreter": "/usr/bin/python3",
        "kube_api_endpoint": plan.api_endpoint,
        "kube_node_cidr": str(plan.subnet),
        # Nodes have no route out: apt, containerd and downloads go through the lab proxy.
        "proxy_http": plan.proxy_url,
        "proxy_https": plan.proxy_url,
        "proxy_no_proxy": [str(plan.subnet)],
        # Lab hosts share the host kernel's cgroup v1; kubelet >= 1.35 needs consent.
        "kubelet_fail_cgroup_v1": False,
        # Lab nodes are systemd-nspawn containers sharing the host's kernel, swap and
        # disk: roles/kubeadm then renders the kubelet and kube-proxy settings containers
        # need, node_prep leaves kernel-wide sysctls alone, and cluster.check checks them
        # (docs/lab.md, "Kubernetes inside lab nodes").
        "kube_node_in_container": True,
        # Lab nodes cannot reach GitHub, where the upstream containerd release lives;
        # Debian's package comes through the lab's package proxy.
        "containerd_source": "distro",
        "lab_name": plan.name,
    }


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, as yamllint's default rules want."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump(data: dict[str, Any]) -> str:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    return HEADER + "---\n" + text


def write(directory: Path, plan: LabPlan, key: Path, known_hosts: Path | None = None) -> Path:
    """hosts.yml, group_vars/all.yml, and the nodes' host keys in the known_hosts file
    kubeprimer checks them against (copied from the lab's own), so no run of the lab
    ever trusts a key on first use."""
    (directory / "group_vars").mkdir(parents=True, exist_ok=True)
    if known_hosts is not None:
        (directory / KNOWN_HOSTS).write_text(known_hosts.read_text())
    (directory / "group_vars" / "all.yml").write_text(_dump(group_vars(plan, key, directory)))
    path = directory / "hosts.yml"
    path.write_text(_dump(hosts(plan)))
    return path


def remove(directory: Path) -> None:
    """Only what ``write`` made: a user's own files beside it are left alone."""
    (directory / "hosts.yml").unlink(missing_ok=True)
    (directory / "group_vars" / "all.yml").unlink(missing_ok=True)
    # ssh-keygen -R leaves the previous file beside it as .old.
    for name in (KNOWN_HOSTS, f"{KNOWN_HOSTS}.old"):
        (directory / name).unlink(missing_ok=True)
    for d in (directory / "group_vars", directory):
        if d.is_dir() and not any(d.iterdir()):
            shutil.rmtree(d)
