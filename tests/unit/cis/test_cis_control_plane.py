"""CIS Kubernetes Benchmark v1.12 sections 1.2 (API server), 1.3 (controller manager),
1.4 (scheduler) and 3.2 (audit policy), check by check, over the configuration the
kubeadm role renders, for stacked and for external etcd.

kube-bench's ``cis-1.12`` profile reads each component's command line. kubeadm builds
that command line from its own flags, over which the ClusterConfiguration's extraArgs
are laid; KUBEADM_FLAGS below are kubeadm's own (kubeadm's control-plane manifests
phase, config API v1beta4), so each check is judged on the command line a real
control plane runs. Each check's test is kube-bench's: its flag, operator and value.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.cis import evaluate
from kubeprimer.cis.check import Host
from kubeprimer.cis.facts import MANIFESTS, HostFacts
from kubeprimer.paths import ROLES
from tests.unit.cluster.conftest import by_kind, docs
from tests.unit.cluster.test_kubeadm_config import args

PKI = "/etc/kubernetes/pki"
# What kubeadm itself puts on each component's command line (extraArgs replace these).
KUBEADM_FLAGS: dict[str, dict[str, str]] = {
    "apiServer": {
        "authorization-mode": "Node,RBAC",
        "client-ca-file": f"{PKI}/ca.crt",
        "enable-admission-plugins": "NodeRestriction",
        "enable-bootstrap-token-auth": "true",
        "kubelet-client-certificate": f"{PKI}/apiserver-kubelet-client.crt",
        "kubelet-client-key": f"{PKI}/apiserver-kubelet-client.key",
        "service-account-key-file": f"{PKI}/sa.pub",
        "service-account-signing-key-file": f"{PKI}/sa.key",
        "tls-cert-file": f"{PKI}/apiserver.crt",
        "tls-private-key-file": f"{PKI}/apiserver.key",
    },
    "controllerManager": {
        "bind-address": "127.0.0.1",
        "root-ca-file": f"{PKI}/ca.crt",
        "service-account-private-key-file": f"{PKI}/sa.key",
        "use-service-account-credentials": "true",
    },
    "scheduler": {"bind-address": "127.0.0.1"},
}
# kube-bench's list for 1.2.29 (valid_elements).
STRONG_CIPHERS = {
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
# Stacked etcd, and external etcd with only kubeprimer's own API server flags.
SCENARIOS = ("single", "external")

Flags = dict[str, str]


def command_line(rendered: dict[str, Path], scenario: str) -> dict[str, Flags]:
    """component -> the flags its static pod runs with."""
    cc: Any = by_kind(rendered[scenario] / "cp1" / "init.yaml")["ClusterConfiguration"]
    found = {name: dict(flags) for name, flags in KUBEADM_FLAGS.items()}
    etcd = cc["etcd"].get("external")
    found["apiServer"].update(
        {
            "etcd-cafile": etcd["caFile"] if etcd else f"{PKI}/etcd/ca.crt",
            "etcd-certfile": etcd["certFile"] if etcd else f"{PKI}/apiserver-etcd-client.crt",
            "etcd-keyfile": etcd["keyFile"] if etcd else f"{PKI}/apiserver-etcd-client.key",
        }
    )
    for name in found:
        found[name].update(args(cc[name].get("extraArgs") or []))
    return found


def has(value: str) -> Callable[[str | None], bool]:
    return lambda flag: flag is not None and value in flag


def nothave(value: str) -> Callable[[str | None], bool]:
    return lambda flag: flag is None or value not in flag


def eq(value: str) -> Callable[[str | None], bool]:
    return lambda flag: flag == value


def unset_or(test: Callable[[str | None], bool]) -> Callable[[str | None], bool]:
    return lambda flag: flag is None or test(flag)


def is_set(flag: str | None) -> bool:
    return flag is not None


def gte(value: int) -> Callable[[str | None], bool]:
    return lambda flag: flag is not None and int(flag) >= value


def strong_ciphers(flag: str | None) -> bool:
    return flag is not None and set(flag.split(",")) <= STRONG_CIPHERS


# (check ID, component, flag, kube-bench's test), every automated flag check of
# sections 1.2, 1.3, 1.4 and 3.2 plus the manual ones kubeprimer satisfies.
CHECKS: list[tuple[str, str, str, Callable[[str | None], bool]]] = [
    ("1.2.2", "apiServer", "token-auth-file", lambda flag: flag is None),
    ("1.2.3", "apiServer", "enable-admission-plugins", has("DenyServiceExternalIPs")),
    ("1.2.4", "apiServer", "kubelet-client-certificate", is_set),
    ("1.2.4", "apiServer", "kubelet-client-key", is_set),
    ("1.2.5", "apiServer", "kubelet-certificate-authority", is_set),
    ("1.2.6", "apiServer", "authorization-mode", nothave("AlwaysAllow")),
    ("1.2.7", "apiServer", "authorization-mode", has("Node")),
    ("1.2.8", "apiServer", "authorization-mode", has("RBAC")),
    ("1.2.9", "apiServer", "enable-admission-plugins", has("EventRateLimit")),
    ("1.2.10", "apiServer", "enable-admission-plugins", nothave("AlwaysAdmit")),
    ("1.2.12", "apiServer", "disable-admission-plugins", nothave("ServiceAccount")),
    ("1.2.13", "apiServer", "disable-admission-plugins", nothave("NamespaceLifecycle")),
    ("1.2.14", "apiServer", "enable-admission-plugins", has("NodeRestriction")),
    ("1.2.15", "apiServer", "profiling", eq("false")),
    ("1.2.16", "apiServer", "audit-log-path", is_set),
    ("1.2.17", "apiServer", "audit-log-maxage", gte(30)),
    ("1.2.18", "apiServer", "audit-log-maxbackup", gte(10)),
    ("1.2.19", "apiServer", "audit-log-maxsize", gte(100)),
    ("1.2.21", "apiServer", "service-account-lookup", unset_or(eq("true"))),
    ("1.2.22", "apiServer", "service-account-key-file", is_set),
    ("1.2.23", "apiServer", "etcd-certfile", is_set),
    ("1.2.23", "apiServer", "etcd-keyfile", is_set),
    ("1.2.24", "apiServer", "tls-cert-file", is_set),
    ("1.2.24", "apiServer", "tls-private-key-file", is_set),
    ("1.2.25", "apiServer", "client-ca-file", is_set),
    ("1.2.26", "apiServer", "etcd-cafile", is_set),
    ("1.2.27", "apiServer", "encryption-provider-config", is_set),
    ("1.2.29", "apiServer", "tls-cipher-suites", strong_ciphers),
    ("1.2.29", "apiServer", "tls-min-version", has("VersionTLS1")),
    ("1.2.30", "apiServer", "service-account-extend-token-expiration", eq("false")),
    ("1.3.1", "controllerManager", "terminated-pod-gc-threshold", is_set),
    ("1.3.2", "controllerManager", "profiling", eq("false")),
    ("1.3.3", "controllerManager", "use-service-account-credentials", lambda f: f != "false"),
    ("1.3.4", "controllerManager", "service-account-private-key-file", is_set),
    ("1.3.5", "controllerManager", "root-ca-file", is_set),
    (
        "1.3.6",
        "controllerManager",
        "feature-gates",
        nothave("RotateKubeletServerCertificate=false"),
    ),
    ("1.3.7", "controllerManager", "bind-address", unset_or(eq("127.0.0.1"))),
    ("1.4.1", "scheduler", "profiling", eq("false")),
    ("1.4.2", "scheduler", "bind-address", unset_or(eq("127.0.0.1"))),
    ("3.2.1", "apiServer", "audit-policy-file", is_set),
]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize(
    ("check", "component", "flag", "test"),
    CHECKS,
    ids=[f"{c[0]}-{c[2]}" for c in CHECKS],
)
def test_check_passes(
    rendered: dict[str, Path],
    scenario: str,
    check: str,
    component: str,
    flag: str,
    test: Callable[[str | None], bool],
) -> None:
    value = command_line(rendered, scenario)[component].get(flag)
    assert test(value), f"CIS {check}: --{flag}={value} on {component} ({scenario})"


@pytest.mark.parametrize("component", ["apiServer", "controllerManager", "scheduler"])
def test_tls_of_every_control_plane_component(rendered: dict[str, Path], component: str) -> None:
    """1.2.29's ciphers and TLS 1.2 or later on every component's serving port."""
    for scenario in SCENARIOS:
        flags = command_line(rendered, scenario)[component]
        assert flags["tls-min-version"] in ("VersionTLS12", "VersionTLS13")
        assert strong_ciphers(flags["tls-cipher-suites"])


def control_plane_file(rendered: dict[str, Path], scenario: str, name: str) -> dict[str, Any]:
    (doc,) = docs(rendered[scenario] / "cp1" / name)
    return dict(doc)


def mounted(rendered: dict[str, Path], scenario: str, path: str) -> bool:
    """Whether the API server's static pod sees ``path`` where the host has it, read-only."""
    cc: Any = by_kind(rendered[scenario] / "cp1" / "init.yaml")["ClusterConfiguration"]
    return any(
        path.startswith(v["mountPath"] + "/") and v["hostPath"] == v["mountPath"] and v["readOnly"]
        for v in cc["apiServer"]["extraVolumes"]
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_1_2_1_anonymous_requests_only_for_health_and_join_discovery(
    rendered: dict[str, Path], scenario: str
) -> None:
    flags = command_line(rendered, scenario)["apiServer"]
    # kube-apiserver refuses --anonymous-auth beside --authentication-config.
    assert "anonymous-auth" not in flags
    path = flags["authentication-config"]
    assert mounted(rendered, scenario, path)
    config = control_plane_file(rendered, scenario, "authentication.yaml")
    assert config["apiVersion"] == "apiserver.config.k8s.io/v1"
    assert config["kind"] == "AuthenticationConfiguration"
    assert config["jwt"] == []
    assert config["anonymous"] == {
        "enabled": True,
        "conditions": [
            {"path": "/livez"},
            {"path": "/readyz"},
            {"path": "/healthz"},
            {"path": "/api/v1/namespaces/kube-public/configmaps/cluster-info"},
        ],
    }


def test_1_2_1_oidc_flags_keep_the_built_in_authentication(rendered: dict[str, Path]) -> None:
    """An inventory with --oidc-* flags: kube-apiserver would refuse --authentication-config."""
    flags = command_line(rendered, "ha")["apiServer"]
    assert flags["oidc-issuer-url"] == "https://id.example"
    assert "authentication-config" not in flags
    assert (
        flags["enable-admission-plugins"] == "NodeRestriction,EventRateLimit,DenyServiceExternalIPs"
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_1_2_9_event_rate_limit_and_pod_security_configuration(
    rendered: dict[str, Path], scenario: str
) -> None:
    flags = command_line(rendered, scenario)["apiServer"]
    path = flags["admission-control-config-file"]
    assert mounted(rendered, scenario, path)
    admission = control_plane_file(rendered, scenario, "admission.yaml")
    assert admission["apiVersion"] == "apiserver.config.k8s.io/v1"
    assert admission["kind"] == "AdmissionConfiguration"
    plugins = {p["name"]: p for p in admission["plugins"]}
    assert set(plugins) == {"EventRateLimit", "PodSecurity"}
    limits_path = plugins["EventRateLimit"]["path"]
    assert Path(limits_path).parent == Path(path).parent, "mounted with the file naming it"
    limits = control_plane_file(rendered, scenario, "eventratelimit.yaml")
    assert limits["apiVersion"] == "eventratelimit.admission.k8s.io/v1alpha1"
    assert limits["kind"] == "Configuration"
    assert limits["limits"] == [
        {"type": "Namespace", "qps": 50, "burst": 100, "cacheSize": 2000},
        {"type": "User", "qps": 10, "burst": 50},
    ]
    pod_security = plugins["PodSecurity"]["configuration"]
    assert pod_security["apiVersion"] == "pod-security.admission.config.k8s.io/v1"
    assert pod_security["kind"] == "PodSecurityConfiguration"
    assert pod_security["defaults"] == {
        "enforce": "baseline",
        "enforce-version": "latest",
        "audit": "restricted",
        "audit-version": "latest",
        "warn": "restricted",
        "warn-version": "latest",
    }
    # Exemptions are namespace labels, never this file.
    assert pod_security["exemptions"] == {"usernames": [], "runtimeClasses": [], "namespaces": []}


def test_the_new_files_are_root_only_and_restart_the_api_server() -> None:
    """Written 0600 root:root, and a change restarts kube-apiserver like the audit policy."""
    tasks = yaml.safe_load((ROLES / "kubeadm" / "tasks" / "apiserver-config.yml").read_text())
    (write,) = [t for t in tasks if "ansible.builtin.template" in t]
    module = write["ansible.builtin.template"]
    assert (module["owner"], module["group"], module["mode"]) == ("root", "root", "0600")
    assert write["notify"] == "Restart kube-apiserver"
    assert {Path(item["src"]).name for item in write["loop"]} == {
        "admission-configuration.yaml.j2",
        "eventratelimit.yaml.j2",
        "authentication-configuration.yaml.j2",
    }


# The rendered files where the role writes them on a control plane.
FILES = {
    "authentication.yaml": "/etc/kubernetes/authentication/config.yaml",
    "admission.yaml": "/etc/kubernetes/admission/admission.yaml",
    "eventratelimit.yaml": "/etc/kubernetes/admission/eventratelimit.yaml",
    "encryption-config.yaml": "/etc/kubernetes/encryption/config.yaml",
    "audit-policy.yaml": "/etc/kubernetes/audit/policy.yaml",
}
COMPONENTS = {
    "apiServer": "kube-apiserver",
    "controllerManager": "kube-controller-manager",
    "scheduler": "kube-scheduler",
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cluster_cis_passes_the_rendered_control_plane(
    rendered: dict[str, Path], scenario: str
) -> None:
    """invoke cluster.cis's own flag and file checks (sections 1.2 to 1.4 and 3) over the
    command lines above and the files the role writes: none fails."""
    texts = {path: (rendered[scenario] / "cp1" / name).read_text() for name, path in FILES.items()}
    for component, flags in command_line(rendered, scenario).items():
        name = COMPONENTS[component]
        command = [name] + [f"--{flag}={value}" for flag, value in flags.items()]
        pod = {"kind": "Pod", "spec": {"containers": [{"name": name, "command": command}]}}
        texts[MANIFESTS[name]] = yaml.safe_dump(pod)
    facts = HostFacts.from_probe({"stat": {}, "tree": {}, "text": texts})
    host = Host("cp1", facts, control_plane=True, node=False, etcd=False)
    rows = {row.check: row for row in evaluate.host_rows(host)}
    judged = [c for c in rows if c.split(".")[0] in ("1", "3") and c.split(".")[1] != "1"]
    for check in ("1.2.1", "1.2.3", "1.2.9", "1.2.29", "1.2.30", "1.3.7", "1.4.2", "3.2.1"):
        assert rows[check].status == "PASS", (check, rows[check].detail)
    failed = {c: rows[c].detail for c in judged if rows[c].status == "FAIL"}
    assert not failed
