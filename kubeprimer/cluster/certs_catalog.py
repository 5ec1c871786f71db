"""Which certificates the cluster depends on, and where each one lives.

On the hosts, by the groups a host is in: kubeadm's on the control planes (etcd's own
ones only with stacked etcd), kubelet's on every node, the members' on external etcd
hosts, the servers' on Vault hosts. On the controller, the toolkit's two CAs (roles/pki).
The paths are the ones kubeadm and the roles write; a file that is not there is left out
of the table (a worker before its join, a Vault cluster that was never set up).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeprimer.inventory import Inventory
from kubeprimer.inventory.model import Host

KUBE = "/etc/kubernetes"
KUBELET_PKI = "/var/lib/kubelet/pki"
CONTROL_PLANE = "kube_control_plane"
NODE = "kube_node"
ETCD = "etcd"
VAULT = "vault"


@dataclass(frozen=True)
class Wanted:
    """A certificate as the table names it, and the file that holds it."""

    name: str
    path: str


def _kubeadm(stacked: bool) -> list[Wanted]:
    names = ["apiserver", "apiserver-kubelet-client", "front-proxy-client"]
    if stacked:
        names += ["apiserver-etcd-client", "etcd/server", "etcd/peer", "etcd/healthcheck-client"]
    else:
        # External etcd: the API server's client certificate comes from etcd's own CA.
        names += ["external-etcd/apiserver-etcd-client"]
    leaves = [Wanted(n, f"{KUBE}/pki/{n}.crt") for n in names]
    kubeconfigs = [
        Wanted(f"{n}.conf", f"{KUBE}/{n}.conf")
        for n in ("admin", "super-admin", "controller-manager", "scheduler")
    ]
    cas = ["ca", "front-proxy-ca"] + (["etcd/ca"] if stacked else [])
    return leaves + kubeconfigs + [Wanted(f"{n} (CA)", f"{KUBE}/pki/{n}.crt") for n in cas]


KUBELET = [
    Wanted("kubelet client", f"{KUBELET_PKI}/kubelet-client-current.pem"),
    Wanted("kubelet serving", f"{KUBELET_PKI}/kubelet-server-current.pem"),
]
ETCD_MEMBER = [
    Wanted("etcd member", "/etc/etcd/pki/etcd-member.crt"),
    Wanted("etcd backup client", "/etc/kubeprimer/etcd-backup/pki/etcd-backup-client.crt"),
]


def _setting(inv: Inventory, host: Host, name: str, default: Any) -> Any:
    value = host.vars.get(name, inv.settings.get(name, default))
    # A templated value is Ansible's to resolve; the default is the documented path.
    return default if isinstance(value, str) and "{{" in value else value


def _vault(inv: Inventory, host: Host) -> list[Wanted]:
    if _setting(inv, host, "vault_tls_source", "pki") != "pki":
        path = str(_setting(inv, host, "vault_tls_cert_file", ""))
        return [Wanted("vault server", path)] if path.startswith("/") else []
    service = "vault" if _setting(inv, host, "vault_flavor", "openbao") == "vault" else "openbao"
    return [Wanted(f"{service} server", f"/etc/{service}/tls/{service}.crt")]


def on_host(inv: Inventory, host: Host) -> list[Wanted]:
    """The certificates ``host`` holds, by its groups."""
    stacked = inv.settings.get("etcd_mode", "stacked") != "external"
    wanted: list[Wanted] = []
    if CONTROL_PLANE in host.groups:
        wanted += _kubeadm(stacked)
    if CONTROL_PLANE in host.groups or NODE in host.groups:
        wanted += KUBELET
    if ETCD in host.groups and not stacked:
        wanted += ETCD_MEMBER
    if VAULT in host.groups:
        wanted += _vault(inv, host)
    return wanted


def pki_dir(inv: Inventory) -> Path:
    """roles/pki's folder on the controller: pki_dir, by default ``.pki`` beside the inventory."""
    given = inv.settings.get("pki_dir")
    if isinstance(given, str) and given and "{{" not in given:
        path = Path(given).expanduser()
        return path if path.is_absolute() else inv.path.parent / path
    return inv.path.parent / ".pki"


def on_controller(inv: Inventory) -> list[Wanted]:
    """The toolkit's CAs, kept on the controller."""
    folder = pki_dir(inv)
    return [
        Wanted("toolkit CA", str(folder / "ca.crt")),
        Wanted("etcd CA", str(folder / "etcd-ca.crt")),
    ]
