"""Sections 1.1 (control-plane node configuration files) and 4.1 (worker node
configuration files) of cis-1.12: modes and owners, as kube-bench stats them."""

from __future__ import annotations

from collections.abc import Callable

from kubeprimer.cis.check import (
    CONTROL_PLANE,
    ETCD,
    FAIL,
    NA,
    NODE,
    STACKED,
    Check,
    Host,
    Test,
    Verdict,
    at,
    mode,
    owner,
    passed,
)
from kubeprimer.cis.facts import (
    CNI,
    ETCD_DATA_DIR,
    KUBECONFIGS,
    KUBELET_CA,
    KUBELET_SERVICE,
    MANIFESTS,
    PKI,
    PROXY_KUBECONFIG,
)

_POD = {
    "1.1.1": ("API server", "kube-apiserver"),
    "1.1.3": ("controller manager", "kube-controller-manager"),
    "1.1.5": ("scheduler", "kube-scheduler"),
    "1.1.7": ("etcd", "etcd"),
}


def _pod_checks() -> list[Check]:
    checks = []
    for mode_id, (label, name) in _POD.items():
        path = MANIFESTS[name]
        scope = STACKED if name == "etcd" else CONTROL_PLANE
        owner_id = f"1.1.{int(mode_id.rsplit('.', 1)[1]) + 1}"
        checks += [
            Check(
                mode_id,
                f"The {label} pod specification file permissions are 600 or more restrictive",
                scope,
                f"chmod 600 {path}",
                mode(at(path), 0o600),
            ),
            Check(
                owner_id,
                f"The {label} pod specification file ownership is root:root",
                scope,
                f"chown root:root {path}",
                owner(at(path)),
            ),
        ]
    return checks


def _every(
    folders: tuple[str, ...], ok: Callable[[int, str], bool], suffix: str = "", files: bool = False
) -> Test:
    """Every entry found under the folders passes ``ok(mode, owner:group)``; N/A when
    there is none."""

    def test(host: Host) -> Verdict:
        entries = [
            s
            for folder in folders
            for s in host.facts.trees.get(folder, [])
            if s.path.endswith(suffix) and not (files and s.directory)
        ]
        if not entries:
            return Verdict(NA, f"nothing under {', '.join(folders)}")
        bad = [
            f"{s.path} ({s.mode:o} {s.ownership})" for s in entries if not ok(s.mode, s.ownership)
        ]
        return passed(not bad, "; ".join(bad[:3]) + (" ..." if len(bad) > 3 else "") or "all")

    return test


def _data_dir(host: Host) -> str:
    flags = host.facts.etcd_flags(host.external_etcd)
    return (flags.get("data-dir") if flags else None) or ETCD_DATA_DIR


def _kubelet_service(host: Host) -> str:
    return host.facts.kubelet_service() or KUBELET_SERVICE[0]


def _kubelet_kubeconfig(host: Host) -> str:
    return host.facts.kubelet_flags().get("kubeconfig") or KUBECONFIGS["kubelet"]


def _kubelet_ca(host: Host) -> str:
    flag = host.facts.kubelet_flags().get("client-ca-file")
    config = host.facts.kubelet_config() or {}
    from_config = ((config.get("authentication") or {}).get("x509") or {}).get("clientCAFile")
    return str(flag or from_config or KUBELET_CA)


def _admin(ownership: bool) -> Test:
    """admin.conf, and super-admin.conf where it is (kubeadm writes it on init only)."""

    def test(host: Host) -> Verdict:
        found = [host.facts.stat(KUBECONFIGS[n]) for n in ("admin", "super-admin")]
        present = [s for s in found if s is not None]
        if host.facts.stat(KUBECONFIGS["admin"]) is None:
            return Verdict(FAIL, f"{KUBECONFIGS['admin']} not found")
        if ownership:
            bad = [f"{s.path} is {s.ownership}" for s in present if s.ownership != "root:root"]
        else:
            bad = [f"{s.path} is {s.mode:o}" for s in present if not s.within(0o600)]
        return passed(not bad, "; ".join(bad) or ", ".join(s.path for s in present))

    return test


def _cni_ok_mode(mode_: int, _: str) -> bool:
    return mode_ & ~0o600 == 0


def _root(_: int, ownership: str) -> bool:
    return ownership == "root:root"


CONTROL_PLANE_FILES: list[Check] = [
    *_pod_checks(),
    Check(
        "1.1.9",
        "The Container Network Interface file permissions are 600 or more restrictive",
        CONTROL_PLANE,
        "chmod 600 the files under /etc/cni/net.d and /var/lib/cni/networks",
        _every(CNI, _cni_ok_mode, files=True),
    ),
    Check(
        "1.1.10",
        "The Container Network Interface file ownership is root:root",
        CONTROL_PLANE,
        "chown root:root the files under /etc/cni/net.d and /var/lib/cni/networks",
        _every(CNI, _root, files=True),
    ),
    Check(
        "1.1.11",
        "The etcd data directory permissions are 700 or more restrictive",
        ETCD,
        "chmod 700 the etcd data directory (--data-dir, /var/lib/etcd by default)",
        mode(_data_dir, 0o700),
    ),
    Check(
        "1.1.12",
        "The etcd data directory ownership is etcd:etcd",
        ETCD,
        "chown etcd:etcd the etcd data directory (--data-dir, /var/lib/etcd by default)",
        owner(_data_dir, "etcd:etcd"),
    ),
    Check(
        "1.1.13",
        "The default administrative credential file permissions are 600",
        CONTROL_PLANE,
        "chmod 600 /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf",
        _admin(ownership=False),
    ),
    Check(
        "1.1.14",
        "The default administrative credential file ownership is root:root",
        CONTROL_PLANE,
        "chown root:root /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf",
        _admin(ownership=True),
    ),
    Check(
        "1.1.15",
        "The scheduler.conf file permissions are 600 or more restrictive",
        CONTROL_PLANE,
        f"chmod 600 {KUBECONFIGS['scheduler']}",
        mode(at(KUBECONFIGS["scheduler"]), 0o600),
    ),
    Check(
        "1.1.16",
        "The scheduler.conf file ownership is root:root",
        CONTROL_PLANE,
        f"chown root:root {KUBECONFIGS['scheduler']}",
        owner(at(KUBECONFIGS["scheduler"])),
    ),
    Check(
        "1.1.17",
        "The controller-manager.conf file permissions are 600 or more restrictive",
        CONTROL_PLANE,
        f"chmod 600 {KUBECONFIGS['controller-manager']}",
        mode(at(KUBECONFIGS["controller-manager"]), 0o600),
    ),
    Check(
        "1.1.18",
        "The controller-manager.conf file ownership is root:root",
        CONTROL_PLANE,
        f"chown root:root {KUBECONFIGS['controller-manager']}",
        owner(at(KUBECONFIGS["controller-manager"])),
    ),
    Check(
        "1.1.19",
        "The Kubernetes PKI directory and file ownership is root:root",
        CONTROL_PLANE,
        f"chown -R root:root {PKI}/",
        _every((PKI,), _root),
    ),
    Check(
        "1.1.20",
        "The Kubernetes PKI certificate file permissions are 644 or more restrictive",
        CONTROL_PLANE,
        f"chmod 644 {PKI}/*.crt (or stricter)",
        _every((PKI,), lambda m, _: m & ~0o644 == 0, suffix=".crt"),
    ),
    Check(
        "1.1.21",
        "The Kubernetes PKI key file permissions are 600",
        CONTROL_PLANE,
        f"chmod 600 {PKI}/*.key",
        _every((PKI,), lambda m, _: m & ~0o600 == 0, suffix=".key"),
    ),
]

NODE_FILES: list[Check] = [
    Check(
        "4.1.1",
        "The kubelet service file permissions are 600 or more restrictive",
        NODE,
        "chmod 600 the kubelet drop-in 10-kubeadm.conf",
        mode(_kubelet_service, 0o600),
    ),
    Check(
        "4.1.2",
        "The kubelet service file ownership is root:root",
        NODE,
        "chown root:root the kubelet drop-in 10-kubeadm.conf",
        owner(_kubelet_service),
    ),
    Check(
        "4.1.3",
        "If the proxy kubeconfig file exists, its permissions are 600 or more restrictive",
        NODE,
        f"chmod 600 {PROXY_KUBECONFIG}",
        mode(at(PROXY_KUBECONFIG), 0o600, optional=True),
    ),
    Check(
        "4.1.4",
        "If the proxy kubeconfig file exists, its ownership is root:root",
        NODE,
        f"chown root:root {PROXY_KUBECONFIG}",
        owner(at(PROXY_KUBECONFIG), optional=True),
    ),
    Check(
        "4.1.5",
        "The --kubeconfig kubelet.conf file permissions are 600 or more restrictive",
        NODE,
        f"chmod 600 {KUBECONFIGS['kubelet']}",
        mode(_kubelet_kubeconfig, 0o600),
    ),
    Check(
        "4.1.6",
        "The --kubeconfig kubelet.conf file ownership is root:root",
        NODE,
        f"chown root:root {KUBECONFIGS['kubelet']}",
        owner(_kubelet_kubeconfig),
    ),
    Check(
        "4.1.7",
        "The certificate authorities file permissions are 644 or more restrictive",
        NODE,
        f"chmod 644 the kubelet's client CA file ({KUBELET_CA}), or stricter",
        mode(_kubelet_ca, 0o644, optional=True),
    ),
    Check(
        "4.1.8",
        "The client certificate authorities file ownership is root:root",
        NODE,
        f"chown root:root the kubelet's client CA file ({KUBELET_CA})",
        owner(_kubelet_ca, optional=True),
    ),
    Check(
        "4.1.9",
        "The kubelet config.yaml configuration file permissions are 600 or more restrictive",
        NODE,
        "chmod 600 /var/lib/kubelet/config.yaml",
        mode(lambda host: host.facts.kubelet_config_path(), 0o600),
    ),
    Check(
        "4.1.10",
        "The kubelet config.yaml configuration file ownership is root:root",
        NODE,
        "chown root:root /var/lib/kubelet/config.yaml",
        owner(lambda host: host.facts.kubelet_config_path()),
    ),
]
