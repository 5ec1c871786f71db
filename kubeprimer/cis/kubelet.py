"""Section 4.2 (kubelet) of cis-1.12: a command-line flag wins over the kubelet's
configuration file, as kube-bench reads them (``ps -fC kubelet``, then $kubeletconf)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubeprimer.cis.check import FAIL, NODE, PASS, Check, Host, Test, Verdict, passed

# kube-bench's valid_elements for 4.2.12.
STRONG_CIPHERS = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,"
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
)
_MISSING = object()


def setting(host: Host, flag: str, path: str) -> Any:
    """The flag's value when the kubelet is started with it, else the configuration
    file's value at ``path`` (dotted), else _MISSING."""
    flags = host.facts.kubelet_flags()
    if flag and flag in flags:
        return flags[flag]
    value: Any = host.facts.kubelet_config()
    if value is None:
        return _MISSING
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _kubelet(flag: str, path: str, ok: Callable[[str], bool], unset_ok: bool = False) -> Test:
    def test(host: Host) -> Verdict:
        if host.facts.kubelet_config() is None:
            return Verdict(FAIL, "no kubelet configuration file")
        value = setting(host, flag, path)
        if value is _MISSING:
            return passed(unset_ok, f"{path} not set")
        text = _text(value)
        return passed(ok(text), f"{path}: {text}")

    return test


def _int_at_least(minimum: int) -> Callable[[str], bool]:
    return lambda v: v.lstrip("-").isdigit() and int(v) >= minimum


def _serving_certificate(host: Host) -> Verdict:
    """tlsCertFile and tlsPrivateKeyFile, or serving certificates the cluster CA signs
    through serverTLSBootstrap (the kubelet then has no file flags; the benchmark's aim,
    a serving certificate clients can verify, is met)."""
    cert = setting(host, "tls-cert-file", "tlsCertFile")
    key = setting(host, "tls-private-key-file", "tlsPrivateKeyFile")
    if cert is not _MISSING and key is not _MISSING:
        return Verdict(PASS, f"{cert}")
    bootstrap = setting(host, "", "serverTLSBootstrap")
    return passed(
        _text(bootstrap) == "true",
        "serverTLSBootstrap" if bootstrap is True else "no serving certificate set",
    )


def _check(id_: str, title: str, fix: str, test: Test) -> Check:
    return Check(id_, title, NODE, fix, test)


KUBELET: list[Check] = [
    _check(
        "4.2.1",
        "The --anonymous-auth argument is set to false",
        "set authentication.anonymous.enabled: false in the kubelet configuration",
        _kubelet("anonymous-auth", "authentication.anonymous.enabled", lambda v: v == "false"),
    ),
    _check(
        "4.2.2",
        "The --authorization-mode argument is not set to AlwaysAllow",
        "set authorization.mode: Webhook in the kubelet configuration",
        _kubelet("authorization-mode", "authorization.mode", lambda v: "AlwaysAllow" not in v),
    ),
    _check(
        "4.2.3",
        "The --client-ca-file argument is set",
        "set authentication.x509.clientCAFile in the kubelet configuration",
        _kubelet("client-ca-file", "authentication.x509.clientCAFile", bool),
    ),
    _check(
        "4.2.4",
        "If defined, the --read-only-port argument is set to 0",
        "set readOnlyPort: 0 in the kubelet configuration",
        _kubelet("read-only-port", "readOnlyPort", lambda v: v == "0", unset_ok=True),
    ),
    _check(
        "4.2.5",
        "The --streaming-connection-idle-timeout argument is not set to 0",
        "set streamingConnectionIdleTimeout to a duration other than 0 (e.g. 5m)",
        _kubelet(
            "streaming-connection-idle-timeout",
            "streamingConnectionIdleTimeout",
            lambda v: v not in ("0", "0s"),
            unset_ok=True,
        ),
    ),
    _check(
        "4.2.6",
        "The --make-iptables-util-chains argument is set to true",
        "set makeIPTablesUtilChains: true in the kubelet configuration",
        _kubelet(
            "make-iptables-util-chains",
            "makeIPTablesUtilChains",
            lambda v: v == "true",
            unset_ok=True,
        ),
    ),
    _check(
        "4.2.7",
        "The --hostname-override argument is not set",
        "remove --hostname-override from the kubelet's flags (kubeadm-flags.env, /etc/default/kubelet)",
        lambda host: passed("hostname-override" not in host.facts.kubelet_flags(), "flags"),
    ),
    _check(
        "4.2.8",
        "The eventRecordQPS argument is set to a level which ensures appropriate event capture",
        "set eventRecordQPS (0 or more) in the kubelet configuration",
        _kubelet("event-qps", "eventRecordQPS", _int_at_least(0), unset_ok=True),
    ),
    _check(
        "4.2.9",
        "The --tls-cert-file and --tls-private-key-file arguments are set",
        "set tlsCertFile and tlsPrivateKeyFile, or serverTLSBootstrap: true with the serving CSR approver",
        _serving_certificate,
    ),
    _check(
        "4.2.10",
        "The --rotate-certificates argument is not set to false",
        "set rotateCertificates: true (or remove it) in the kubelet configuration",
        _kubelet("rotate-certificates", "rotateCertificates", lambda v: v == "true", unset_ok=True),
    ),
    _check(
        "4.2.11",
        "The RotateKubeletServerCertificate argument is set to true",
        "remove RotateKubeletServerCertificate: false from the kubelet's featureGates",
        _kubelet(
            "", "featureGates.RotateKubeletServerCertificate", lambda v: v != "false", unset_ok=True
        ),
    ),
    _check(
        "4.2.12",
        "The kubelet only makes use of strong cryptographic ciphers",
        "set tlsCipherSuites to the benchmark's strong suites only",
        _kubelet(
            "tls-cipher-suites",
            "tlsCipherSuites",
            lambda v: all(c in STRONG_CIPHERS.split(",") for c in v.split(",")),
        ),
    ),
    _check(
        "4.2.13",
        "A limit is set on pod PIDs",
        "set podPidsLimit (a positive number) in the kubelet configuration",
        _kubelet("pod-max-pids", "podPidsLimit", _int_at_least(1)),
    ),
    _check(
        "4.2.14",
        "The --seccomp-default parameter is set to true",
        "set seccompDefault: true in the kubelet configuration",
        _kubelet("seccomp-default", "seccompDefault", lambda v: v == "true"),
    ),
]
