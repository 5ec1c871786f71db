"""Sections 1.2 (API server), 1.3 (controller manager), 1.4 (scheduler) and 3
(control-plane configuration) of cis-1.12, read from the static pods' flags and the
files those flags name."""

from __future__ import annotations

from typing import Any

from kubeprimer.cis.check import (
    CONTROL_PLANE,
    FAIL,
    Check,
    Host,
    Verdict,
    at_least,
    component,
    equals,
    has,
    is_set,
    only,
    passed,
    review,
    unset,
)
from kubeprimer.cis.facts import Flags

API = "kube-apiserver"
CM = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
MANIFEST = "/etc/kubernetes/manifests/{}.yaml"
# kube-bench's valid_elements for 1.2.29.
STRONG_CIPHERS = (
    "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256,"
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,"
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,"
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,"
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
)
STRONG_PROVIDERS = ("aescbc", "kms", "secretbox")
HEALTH_PATHS = {"/livez", "/readyz", "/healthz"}
# kubeadm join's token discovery reads this ConfigMap before it has credentials (it holds
# the CA certificate and the endpoint, signed for the join token): joins need it anonymous.
JOIN_DISCOVERY_PATH = "/api/v1/namespaces/kube-public/configmaps/cluster-info"


def _named(host: Host, flags: Flags, flag: str) -> Any:
    path = flags.get(flag)
    return host.facts.document(path) if path else None


def _anonymous(flags: Flags, host: Host) -> Verdict:
    """--anonymous-auth=false, or an AuthenticationConfiguration that keeps anonymous
    requests only for the health endpoints (its ``conditions``), as the benchmark's
    rationale allows for /livez, /readyz and /healthz, and kubeadm's join discovery."""
    if flags.get("anonymous-auth", "").lower() == "false":
        return Verdict("PASS", "--anonymous-auth=false")
    if "authentication-config" not in flags:
        return Verdict(FAIL, "--anonymous-auth not false and no --authentication-config")
    config = _named(host, flags, "authentication-config")
    if not isinstance(config, dict):
        return Verdict(FAIL, f"{flags['authentication-config']} not readable")
    anonymous = config.get("anonymous") or {}
    if not anonymous.get("enabled"):
        return Verdict("PASS", "anonymous disabled in the AuthenticationConfiguration")
    paths = {str(c.get("path")) for c in anonymous.get("conditions") or []}
    ok = bool(paths) and paths <= HEALTH_PATHS | {JOIN_DISCOVERY_PATH}
    return passed(ok, f"anonymous only for {', '.join(sorted(paths)) or 'every path'}")


def _authorizers(flags: Flags, host: Host) -> list[str]:
    """The authorization modes: --authorization-mode, or the types of an
    AuthorizationConfiguration named by --authorization-config."""
    if "authorization-config" in flags:
        config = _named(host, flags, "authorization-config") or {}
        return [str(a.get("type")) for a in config.get("authorizers") or []]
    return flags.items_of("authorization-mode")


def _authorization(item: str, present: bool) -> Any:
    def judge(flags: Flags, host: Host) -> Verdict:
        modes = _authorizers(flags, host)
        return passed((item in modes) == present, f"authorization: {','.join(modes) or 'none'}")

    return judge


def _event_rate_limit(flags: Flags, host: Host) -> Verdict:
    """EventRateLimit enabled, with its configuration in the admission configuration file
    (the plugin refuses to start without one)."""
    if "EventRateLimit" not in flags.items_of("enable-admission-plugins"):
        return Verdict(FAIL, "EventRateLimit not in --enable-admission-plugins")
    config = _named(host, flags, "admission-control-config-file")
    plugins = (
        [p.get("name") for p in (config or {}).get("plugins") or []]
        if isinstance(config, dict)
        else []
    )
    return passed(
        "EventRateLimit" in plugins,
        "configured" if "EventRateLimit" in plugins else "no EventRateLimit configuration",
    )


def _providers(flags: Flags, host: Host) -> Verdict:
    """The first provider of every resource group is aescbc, kms or secretbox (kube-bench
    reads the first provider)."""
    config = _named(host, flags, "encryption-provider-config")
    if not isinstance(config, dict):
        return Verdict(FAIL, "no readable --encryption-provider-config")
    first = []
    for resource in config.get("resources") or []:
        providers = resource.get("providers") or [{}]
        first += [next(iter(providers[0]), "none")]
    weak = [p for p in first if p not in STRONG_PROVIDERS]
    return passed(bool(first) and not weak, f"first providers: {', '.join(first) or 'none'}")


def _extend_false(flags: Flags, host: Host) -> Verdict:
    return equals("service-account-extend-token-expiration", "false")(flags, host)


def _rotate_gate(flags: Flags, host: Host) -> Verdict:
    gates = flags.items_of("feature-gates")
    return passed(
        "RotateKubeletServerCertificate=false" not in gates,
        f"feature gates: {','.join(gates) or 'none'}",
    )


def _audit_policy(flags: Flags, host: Host) -> Verdict:
    path = flags.get("audit-policy-file")
    if not path:
        return Verdict(FAIL, "--audit-policy-file not set")
    policy = host.facts.document(path)
    return passed(isinstance(policy, dict) and bool(policy.get("rules")), f"{path}")


def _api(id_: str, title: str, fix: str, judge: Any, site: bool = False) -> Check:
    return Check(id_, title, CONTROL_PLANE, fix, component(API, judge), site=site)


def _cm(id_: str, title: str, fix: str, judge: Any) -> Check:
    return Check(id_, title, CONTROL_PLANE, fix, component(CM, judge))


_EDIT = "in the kube-apiserver manifest (apiServer.extraArgs)"

API_SERVER: list[Check] = [
    _api(
        "1.2.1",
        "The --anonymous-auth argument is set to false",
        "set --anonymous-auth=false, or keep anonymous requests only for /livez, /readyz and /healthz with an AuthenticationConfiguration",
        _anonymous,
    ),
    _api(
        "1.2.2",
        "The --token-auth-file parameter is not set",
        f"remove --token-auth-file {_EDIT}",
        unset("token-auth-file"),
    ),
    _api(
        "1.2.3",
        "The DenyServiceExternalIPs admission plugin is set",
        "the site's decision: add DenyServiceExternalIPs to --enable-admission-plugins if no Service needs externalIPs",
        has("enable-admission-plugins", "DenyServiceExternalIPs"),
        site=True,
    ),
    _api(
        "1.2.4",
        "The --kubelet-client-certificate and --kubelet-client-key arguments are set",
        f"set --kubelet-client-certificate and --kubelet-client-key {_EDIT}",
        is_set("kubelet-client-certificate", "kubelet-client-key"),
    ),
    _api(
        "1.2.5",
        "The --kubelet-certificate-authority argument is set",
        "set --kubelet-certificate-authority to the cluster CA, with kubelet serving certificates from it (serverTLSBootstrap)",
        is_set("kubelet-certificate-authority"),
    ),
    _api(
        "1.2.6",
        "The --authorization-mode argument is not set to AlwaysAllow",
        f"remove AlwaysAllow from --authorization-mode {_EDIT}",
        _authorization("AlwaysAllow", present=False),
    ),
    _api(
        "1.2.7",
        "The --authorization-mode argument includes Node",
        "set --authorization-mode=Node,RBAC",
        _authorization("Node", present=True),
    ),
    _api(
        "1.2.8",
        "The --authorization-mode argument includes RBAC",
        "set --authorization-mode=Node,RBAC",
        _authorization("RBAC", present=True),
    ),
    _api(
        "1.2.9",
        "The admission control plugin EventRateLimit is set",
        "enable EventRateLimit in --enable-admission-plugins and configure it in --admission-control-config-file",
        _event_rate_limit,
    ),
    _api(
        "1.2.10",
        "The admission control plugin AlwaysAdmit is not set",
        "remove AlwaysAdmit from --enable-admission-plugins",
        has("enable-admission-plugins", "AlwaysAdmit", present=False),
    ),
    _api(
        "1.2.11",
        "The admission control plugin AlwaysPullImages is set",
        "the site's decision: add AlwaysPullImages to --enable-admission-plugins where every node can always reach the registry",
        has("enable-admission-plugins", "AlwaysPullImages"),
        site=True,
    ),
    _api(
        "1.2.12",
        "The admission control plugin ServiceAccount is set",
        "remove ServiceAccount from --disable-admission-plugins",
        has("disable-admission-plugins", "ServiceAccount", present=False),
    ),
    _api(
        "1.2.13",
        "The admission control plugin NamespaceLifecycle is set",
        "remove NamespaceLifecycle from --disable-admission-plugins",
        has("disable-admission-plugins", "NamespaceLifecycle", present=False),
    ),
    _api(
        "1.2.14",
        "The admission control plugin NodeRestriction is set",
        "add NodeRestriction to --enable-admission-plugins",
        has("enable-admission-plugins", "NodeRestriction"),
    ),
    _api(
        "1.2.15",
        "The --profiling argument is set to false",
        "set --profiling=false on kube-apiserver",
        equals("profiling", "false"),
    ),
    _api(
        "1.2.16",
        "The --audit-log-path argument is set",
        "set --audit-log-path on kube-apiserver",
        is_set("audit-log-path"),
    ),
    _api(
        "1.2.17",
        "The --audit-log-maxage argument is set to 30 or as appropriate",
        "set --audit-log-maxage=30 or more",
        at_least("audit-log-maxage", 30),
    ),
    _api(
        "1.2.18",
        "The --audit-log-maxbackup argument is set to 10 or as appropriate",
        "set --audit-log-maxbackup=10 or more",
        at_least("audit-log-maxbackup", 10),
    ),
    _api(
        "1.2.19",
        "The --audit-log-maxsize argument is set to 100 or as appropriate",
        "set --audit-log-maxsize=100 or more",
        at_least("audit-log-maxsize", 100),
    ),
    Check(
        "1.2.20",
        "The --request-timeout argument is set as appropriate",
        CONTROL_PLANE,
        "the site's decision: review --request-timeout (default 60s) for the site's longest requests",
        review("manual check"),
        site=True,
    ),
    _api(
        "1.2.21",
        "The --service-account-lookup argument is set to true",
        "remove --service-account-lookup or set it to true",
        equals("service-account-lookup", "true", default_ok=True),
    ),
    _api(
        "1.2.22",
        "The --service-account-key-file argument is set",
        "set --service-account-key-file to the service accounts' public key",
        is_set("service-account-key-file"),
    ),
    _api(
        "1.2.23",
        "The --etcd-certfile and --etcd-keyfile arguments are set",
        "set --etcd-certfile and --etcd-keyfile (etcd.local, or etcd.external's certFile and keyFile)",
        is_set("etcd-certfile", "etcd-keyfile"),
    ),
    _api(
        "1.2.24",
        "The --tls-cert-file and --tls-private-key-file arguments are set",
        "set --tls-cert-file and --tls-private-key-file on kube-apiserver",
        is_set("tls-cert-file", "tls-private-key-file"),
    ),
    _api(
        "1.2.25",
        "The --client-ca-file argument is set",
        "set --client-ca-file on kube-apiserver",
        is_set("client-ca-file"),
    ),
    _api(
        "1.2.26",
        "The --etcd-cafile argument is set",
        "set --etcd-cafile (etcd.external's caFile)",
        is_set("etcd-cafile"),
    ),
    _api(
        "1.2.27",
        "The --encryption-provider-config argument is set",
        "set --encryption-provider-config to an EncryptionConfiguration",
        is_set("encryption-provider-config"),
    ),
    _api(
        "1.2.28",
        "Encryption providers are appropriately configured",
        "make aescbc, kms or secretbox the first provider of every resource in the EncryptionConfiguration",
        _providers,
    ),
    _api(
        "1.2.29",
        "The API server only makes use of strong cryptographic ciphers",
        "set --tls-cipher-suites to the benchmark's strong suites only",
        only("tls-cipher-suites", STRONG_CIPHERS),
    ),
    _api(
        "1.2.30",
        "The --service-account-extend-token-expiration parameter is set to false",
        "set --service-account-extend-token-expiration=false",
        _extend_false,
    ),
]

CONTROLLER_MANAGER: list[Check] = [
    _cm(
        "1.3.1",
        "The --terminated-pod-gc-threshold argument is set as appropriate",
        "set --terminated-pod-gc-threshold (controllerManager.extraArgs)",
        is_set("terminated-pod-gc-threshold"),
    ),
    _cm(
        "1.3.2",
        "The --profiling argument is set to false",
        "set --profiling=false on kube-controller-manager",
        equals("profiling", "false"),
    ),
    _cm(
        "1.3.3",
        "The --use-service-account-credentials argument is set to true",
        "set --use-service-account-credentials=true",
        equals("use-service-account-credentials", "true"),
    ),
    _cm(
        "1.3.4",
        "The --service-account-private-key-file argument is set",
        "set --service-account-private-key-file on kube-controller-manager",
        is_set("service-account-private-key-file"),
    ),
    _cm(
        "1.3.5",
        "The --root-ca-file argument is set",
        "set --root-ca-file on kube-controller-manager",
        is_set("root-ca-file"),
    ),
    _cm(
        "1.3.6",
        "The RotateKubeletServerCertificate argument is set to true",
        "remove RotateKubeletServerCertificate=false from --feature-gates",
        _rotate_gate,
    ),
    _cm(
        "1.3.7",
        "The --bind-address argument is set to 127.0.0.1",
        "set --bind-address=127.0.0.1 on kube-controller-manager",
        equals("bind-address", "127.0.0.1", default_ok=True),
    ),
]

SCHEDULER_CHECKS: list[Check] = [
    Check(
        "1.4.1",
        "The --profiling argument is set to false",
        CONTROL_PLANE,
        "set --profiling=false on kube-scheduler",
        component(SCHEDULER, equals("profiling", "false")),
    ),
    Check(
        "1.4.2",
        "The --bind-address argument is set to 127.0.0.1",
        CONTROL_PLANE,
        "set --bind-address=127.0.0.1 on kube-scheduler",
        component(SCHEDULER, equals("bind-address", "127.0.0.1", default_ok=True)),
    ),
]

CONFIGURATION: list[Check] = [
    Check(
        "3.1.1",
        "Client certificate authentication should not be used for users",
        CONTROL_PLANE,
        "the site's decision: give people OIDC (AuthenticationConfiguration jwt) instead of client certificates",
        review("manual check"),
        site=True,
    ),
    Check(
        "3.1.2",
        "Service account token authentication should not be used for users",
        CONTROL_PLANE,
        "the site's decision: give people OIDC instead of service account tokens",
        review("manual check"),
        site=True,
    ),
    Check(
        "3.1.3",
        "Bootstrap token authentication should not be used for users",
        CONTROL_PLANE,
        "the site's decision: give people OIDC instead of bootstrap tokens",
        review("manual check"),
        site=True,
    ),
    Check(
        "3.2.1",
        "A minimal audit policy is created",
        CONTROL_PLANE,
        "set --audit-policy-file to an audit Policy with rules",
        component(API, _audit_policy),
    ),
    Check(
        "3.2.2",
        "The audit policy covers key security concerns",
        CONTROL_PLANE,
        "the site's decision: review the audit policy (Secrets at Metadata, pods/exec, portforward, proxy)",
        review("manual check"),
        site=True,
    ),
]
