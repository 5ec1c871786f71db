"""cluster.cis's checks, each over sample inputs of a host: a sample that meets every
check (a stacked control plane that is also a node and an etcd member), then, for each
check ID, the same sample with the one thing the check looks at broken, which must make
that check, and only that check, fail. Also: external etcd's configuration file, where
checks do not apply, the probe's reading (and blanking of secrets), the task's refusals,
and the static pod manifests the kubeadm test double writes."""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from kubeprimer.cis import evaluate, probe
from kubeprimer.cis.catalog import CHECKS
from kubeprimer.cis.check import FAIL, NA, PASS, UNKNOWN, WARN, Host
from kubeprimer.cis.facts import ETCD_CONFIG, MANIFESTS, Flags, HostFacts, wanted
from kubeprimer.paths import ROOT
from tests.programs import run_program

PKI = "/etc/kubernetes/pki"
AUTHN = "/etc/kubernetes/authentication/config.yaml"
ADMISSION = "/etc/kubernetes/admission/config.yaml"
ENCRYPTION = "/etc/kubernetes/encryption/config.yaml"
AUDIT = "/etc/kubernetes/audit/policy.yaml"
DROP_IN = "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
FLAGS_ENV = "/var/lib/kubelet/kubeadm-flags.env"
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
CIPHERS = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
# Checks with nothing to test: the site reviews them, so they always WARN.
REVIEWED = {"1.2.20", "3.1.1", "3.1.2", "3.1.3", "3.2.2"}


@dataclass
class Sample:
    """A host's files as the probe would report them, kept editable per test."""

    flags: dict[str, dict[str, str]]
    kubelet: dict[str, Any]
    kubelet_args: str = "--node-ip=10.0.0.11"
    files: dict[str, Any] = field(default_factory=dict)
    modes: dict[str, tuple[str, str]] = field(default_factory=dict)
    trees: dict[str, list[tuple[str, str, str, bool]]] = field(default_factory=dict)

    def host(self, **roles: bool) -> Host:
        texts = {path: yaml.safe_dump(doc) for path, doc in self.files.items()}
        for component, flags in self.flags.items():
            command = [component] + [f"--{n}={v}" for n, v in flags.items()]
            pod = {"kind": "Pod", "spec": {"containers": [{"name": component, "command": command}]}}
            texts[MANIFESTS[component]] = yaml.safe_dump(pod)
        texts[KUBELET_CONFIG] = yaml.safe_dump(self.kubelet)
        texts[DROP_IN] = (
            '[Service]\nEnvironment="KUBELET_KUBECONFIG_ARGS=--kubeconfig=/etc/kubernetes/kubelet.conf"\n'
            f'Environment="KUBELET_CONFIG_ARGS=--config={KUBELET_CONFIG}"\n'
            f"EnvironmentFile=-{FLAGS_ENV}\n"
        )
        texts[FLAGS_ENV] = f'KUBELET_KUBEADM_ARGS="{self.kubelet_args}"\n'
        stats: dict[str, Any] = {
            path: {"mode": m, "owner": o.split(":")[0], "group": o.split(":")[1], "dir": False}
            for path, (m, o) in self.modes.items()
        }
        trees = {
            folder: [
                {"path": p, "mode": m, "owner": o.split(":")[0], "group": o.split(":")[1], "dir": d}
                for p, m, o, d in entries
            ]
            for folder, entries in self.trees.items()
        }
        facts = HostFacts.from_probe({"stat": stats, "tree": trees, "text": texts})
        shape = {"control_plane": True, "node": True, "etcd": True, **roles}
        return Host("cp1", facts, **shape)


def compliant() -> Sample:
    etcd_pki = f"{PKI}/etcd"
    return Sample(
        flags={
            "kube-apiserver": {
                "authentication-config": AUTHN,
                "admission-control-config-file": ADMISSION,
                "audit-log-maxage": "30",
                "audit-log-maxbackup": "10",
                "audit-log-maxsize": "100",
                "audit-log-path": "/var/log/kubernetes/audit/audit.log",
                "audit-policy-file": AUDIT,
                "authorization-mode": "Node,RBAC",
                "client-ca-file": f"{PKI}/ca.crt",
                "enable-admission-plugins": "NodeRestriction,EventRateLimit",
                "encryption-provider-config": ENCRYPTION,
                "etcd-cafile": f"{etcd_pki}/ca.crt",
                "etcd-certfile": f"{PKI}/apiserver-etcd-client.crt",
                "etcd-keyfile": f"{PKI}/apiserver-etcd-client.key",
                "kubelet-certificate-authority": f"{PKI}/ca.crt",
                "kubelet-client-certificate": f"{PKI}/apiserver-kubelet-client.crt",
                "kubelet-client-key": f"{PKI}/apiserver-kubelet-client.key",
                "profiling": "false",
                "service-account-extend-token-expiration": "false",
                "service-account-key-file": f"{PKI}/sa.pub",
                "tls-cert-file": f"{PKI}/apiserver.crt",
                "tls-cipher-suites": CIPHERS,
                "tls-private-key-file": f"{PKI}/apiserver.key",
            },
            "kube-controller-manager": {
                "bind-address": "127.0.0.1",
                "profiling": "false",
                "root-ca-file": f"{PKI}/ca.crt",
                "service-account-private-key-file": f"{PKI}/sa.key",
                "terminated-pod-gc-threshold": "1000",
                "use-service-account-credentials": "true",
            },
            "kube-scheduler": {"bind-address": "127.0.0.1", "profiling": "false"},
            "etcd": {
                "cert-file": f"{etcd_pki}/server.crt",
                "client-cert-auth": "true",
                "data-dir": "/var/lib/etcd",
                "key-file": f"{etcd_pki}/server.key",
                "peer-cert-file": f"{etcd_pki}/peer.crt",
                "peer-client-cert-auth": "true",
                "peer-key-file": f"{etcd_pki}/peer.key",
                "trusted-ca-file": f"{etcd_pki}/ca.crt",
            },
        },
        kubelet={
            "kind": "KubeletConfiguration",
            "authentication": {
                "anonymous": {"enabled": False},
                "x509": {"clientCAFile": f"{PKI}/ca.crt"},
            },
            "authorization": {"mode": "Webhook"},
            "eventRecordQPS": 50,
            "makeIPTablesUtilChains": True,
            "podPidsLimit": 4096,
            "readOnlyPort": 0,
            "rotateCertificates": True,
            "seccompDefault": True,
            "serverTLSBootstrap": True,
            "tlsCipherSuites": CIPHERS.split(","),
        },
        files={
            AUTHN: {
                "kind": "AuthenticationConfiguration",
                "anonymous": {
                    "enabled": True,
                    "conditions": [{"path": p} for p in ("/livez", "/readyz", "/healthz")],
                },
            },
            ADMISSION: {
                "kind": "AdmissionConfiguration",
                "plugins": [
                    {"name": "EventRateLimit", "path": "/etc/kubernetes/admission/erl.yaml"}
                ],
            },
            ENCRYPTION: {
                "kind": "EncryptionConfiguration",
                "resources": [
                    {"resources": ["secrets"], "providers": [{"secretbox": {}}, {"identity": {}}]}
                ],
            },
            AUDIT: {"kind": "Policy", "rules": [{"level": "Metadata"}]},
        },
        modes={
            **{path: ("600", "root:root") for path in MANIFESTS.values()},
            **{
                f"/etc/kubernetes/{n}.conf": ("600", "root:root")
                for n in ("admin", "super-admin", "scheduler", "controller-manager", "kubelet")
            },
            DROP_IN: ("600", "root:root"),
            KUBELET_CONFIG: ("600", "root:root"),
            f"{PKI}/ca.crt": ("644", "root:root"),
            "/var/lib/etcd": ("700", "etcd:etcd"),
        },
        trees={
            PKI: [
                (PKI, "755", "root:root", True),
                (f"{PKI}/ca.crt", "644", "root:root", False),
                (f"{PKI}/ca.key", "600", "root:root", False),
            ],
            "/etc/cni/net.d": [
                ("/etc/cni/net.d", "755", "root:root", True),
                ("/etc/cni/net.d/10-flannel.conflist", "600", "root:root", False),
            ],
        },
    )


Break = Callable[[Sample], None]


def api(name: str, value: str | None) -> Break:
    return _flag("kube-apiserver", name, value)


def _flag(component: str, name: str, value: str | None) -> Break:
    def change(sample: Sample) -> None:
        if value is None:
            sample.flags[component].pop(name, None)
        else:
            sample.flags[component][name] = value

    return change


def mode(path: str, value: str, owner: str = "root:root") -> Break:
    def change(sample: Sample) -> None:
        sample.modes[path] = (value, owner)

    return change


def kubelet(path: str, value: Any) -> Break:
    def change(sample: Sample) -> None:
        *parents, last = path.split(".")
        node = sample.kubelet
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return change


def tree(folder: str, path: str, value: str, owner: str = "root:root") -> Break:
    def change(sample: Sample) -> None:
        sample.trees[folder].append((path, value, owner, False))

    return change


def file(path: str, edit: Callable[[dict[str, Any]], None]) -> Break:
    return lambda sample: edit(sample.files[path])


def both(*changes: Break) -> Break:
    def change(sample: Sample) -> None:
        for one in changes:
            one(sample)

    return change


M = MANIFESTS
CONF = "/etc/kubernetes/{}.conf"
# check ID -> what breaks it (kube-bench's audit and test for that ID, failing).
BREAKS: dict[str, Break] = {
    "1.1.1": mode(M["kube-apiserver"], "644"),
    "1.1.2": mode(M["kube-apiserver"], "600", "root:staff"),
    "1.1.3": mode(M["kube-controller-manager"], "640"),
    "1.1.4": mode(M["kube-controller-manager"], "600", "kube:root"),
    "1.1.5": mode(M["kube-scheduler"], "604"),
    "1.1.6": mode(M["kube-scheduler"], "600", "root:kube"),
    "1.1.7": mode(M["etcd"], "660"),
    "1.1.8": mode(M["etcd"], "600", "etcd:etcd"),
    "1.1.9": tree("/etc/cni/net.d", "/etc/cni/net.d/99-loopback.conf", "644"),
    "1.1.10": tree("/etc/cni/net.d", "/etc/cni/net.d/99-loopback.conf", "600", "nobody:root"),
    "1.1.11": mode("/var/lib/etcd", "750", "etcd:etcd"),
    "1.1.12": mode("/var/lib/etcd", "700", "root:root"),
    "1.1.13": mode(CONF.format("super-admin"), "644"),
    "1.1.14": mode(CONF.format("admin"), "600", "root:adm"),
    "1.1.15": mode(CONF.format("scheduler"), "644"),
    "1.1.16": mode(CONF.format("scheduler"), "600", "kube:kube"),
    "1.1.17": mode(CONF.format("controller-manager"), "640"),
    "1.1.18": mode(CONF.format("controller-manager"), "600", "root:kube"),
    "1.1.19": tree(PKI, f"{PKI}/front-proxy-ca.crt", "644", "kube:root"),
    "1.1.20": tree(PKI, f"{PKI}/front-proxy-ca.crt", "664"),
    "1.1.21": tree(PKI, f"{PKI}/front-proxy-ca.key", "640"),
    "1.2.1": file(AUTHN, lambda d: d["anonymous"]["conditions"].append({"path": "/api"})),
    "1.2.2": api("token-auth-file", "/etc/kubernetes/tokens.csv"),
    "1.2.4": api("kubelet-client-key", None),
    "1.2.5": api("kubelet-certificate-authority", None),
    "1.2.6": api("authorization-mode", "AlwaysAllow,Node,RBAC"),
    "1.2.7": api("authorization-mode", "RBAC"),
    "1.2.8": api("authorization-mode", "Node"),
    "1.2.9": file(ADMISSION, lambda d: d["plugins"].clear()),
    "1.2.10": api("enable-admission-plugins", "NodeRestriction,EventRateLimit,AlwaysAdmit"),
    "1.2.12": api("disable-admission-plugins", "ServiceAccount"),
    "1.2.13": api("disable-admission-plugins", "NamespaceLifecycle"),
    "1.2.14": api("enable-admission-plugins", "EventRateLimit"),
    "1.2.15": api("profiling", "true"),
    "1.2.16": api("audit-log-path", None),
    "1.2.17": api("audit-log-maxage", "7"),
    "1.2.18": api("audit-log-maxbackup", "3"),
    "1.2.19": api("audit-log-maxsize", "10"),
    "1.2.21": api("service-account-lookup", "false"),
    "1.2.22": api("service-account-key-file", None),
    "1.2.23": api("etcd-certfile", None),
    "1.2.24": api("tls-private-key-file", None),
    "1.2.25": api("client-ca-file", None),
    "1.2.26": api("etcd-cafile", None),
    "1.2.27": both(api("encryption-provider-config", None)),
    "1.2.28": file(ENCRYPTION, lambda d: d["resources"][0]["providers"].reverse()),
    "1.2.29": api("tls-cipher-suites", CIPHERS + ",TLS_RSA_WITH_AES_128_CBC_SHA"),
    "1.2.30": api("service-account-extend-token-expiration", None),
    "1.3.1": _flag("kube-controller-manager", "terminated-pod-gc-threshold", None),
    "1.3.2": _flag("kube-controller-manager", "profiling", None),
    "1.3.3": _flag("kube-controller-manager", "use-service-account-credentials", "false"),
    "1.3.4": _flag("kube-controller-manager", "service-account-private-key-file", None),
    "1.3.5": _flag("kube-controller-manager", "root-ca-file", None),
    "1.3.6": _flag(
        "kube-controller-manager", "feature-gates", "RotateKubeletServerCertificate=false"
    ),
    "1.3.7": _flag("kube-controller-manager", "bind-address", "0.0.0.0"),
    "1.4.1": _flag("kube-scheduler", "profiling", "true"),
    "1.4.2": _flag("kube-scheduler", "bind-address", "0.0.0.0"),
    "2.1": _flag("etcd", "key-file", None),
    "2.2": _flag("etcd", "client-cert-auth", "false"),
    "2.3": _flag("etcd", "auto-tls", "true"),
    "2.4": _flag("etcd", "peer-cert-file", None),
    "2.5": _flag("etcd", "peer-client-cert-auth", None),
    "2.6": _flag("etcd", "peer-auto-tls", "true"),
    "2.7": _flag("etcd", "trusted-ca-file", f"{PKI}/ca.crt"),
    "3.2.1": file(AUDIT, lambda d: d.pop("rules")),
    "4.1.1": mode(DROP_IN, "644"),
    "4.1.2": mode(DROP_IN, "600", "root:systemd-journal"),
    "4.1.3": mode("/var/lib/kube-proxy/kubeconfig.conf", "644"),
    "4.1.4": mode("/var/lib/kube-proxy/kubeconfig.conf", "600", "nobody:nogroup"),
    "4.1.5": mode(CONF.format("kubelet"), "644"),
    "4.1.6": mode(CONF.format("kubelet"), "600", "root:kube"),
    "4.1.7": mode(f"{PKI}/ca.crt", "666"),
    "4.1.8": mode(f"{PKI}/ca.crt", "644", "kube:root"),
    "4.1.9": mode(KUBELET_CONFIG, "644"),
    "4.1.10": mode(KUBELET_CONFIG, "600", "root:kube"),
    "4.2.1": kubelet("authentication.anonymous.enabled", True),
    "4.2.2": kubelet("authorization.mode", "AlwaysAllow"),
    "4.2.3": kubelet("authentication.x509.clientCAFile", None),
    "4.2.4": kubelet("readOnlyPort", 10255),
    "4.2.5": kubelet("streamingConnectionIdleTimeout", "0"),
    "4.2.6": kubelet("makeIPTablesUtilChains", False),
    "4.2.7": lambda s: setattr(s, "kubelet_args", "--hostname-override=other"),
    "4.2.8": kubelet("eventRecordQPS", -1),
    "4.2.9": kubelet("serverTLSBootstrap", None),
    "4.2.10": kubelet("rotateCertificates", False),
    "4.2.11": kubelet("featureGates.RotateKubeletServerCertificate", False),
    "4.2.12": kubelet("tlsCipherSuites", ["TLS_RSA_WITH_AES_128_GCM_SHA256"]),
    "4.2.13": kubelet("podPidsLimit", None),
    "4.2.14": kubelet("seccompDefault", False),
}
# Checks that are the site's decision: not met, they WARN and name the setting.
SITE_BREAKS: dict[str, Break] = {
    "1.2.3": api("enable-admission-plugins", "NodeRestriction,EventRateLimit"),
    "1.2.11": api("enable-admission-plugins", "NodeRestriction,EventRateLimit"),
}


def verdicts(host: Host) -> dict[str, str]:
    return {row.check: row.status for row in evaluate.host_rows(host)}


def test_every_check_of_the_catalogue_is_broken_here_once() -> None:
    ids = {c.id for c in CHECKS}
    assert set(BREAKS) | set(SITE_BREAKS) | REVIEWED == ids
    assert len(ids) == len(CHECKS)


def test_the_compliant_sample_passes_every_check() -> None:
    sample = compliant()
    api(
        "enable-admission-plugins",
        "NodeRestriction,EventRateLimit,DenyServiceExternalIPs,AlwaysPullImages",
    )(sample)
    found = verdicts(sample.host())
    assert {i: s for i, s in found.items() if s != PASS} == dict.fromkeys(REVIEWED, WARN) | {
        # The proxy kubeconfig is not on the host (kube-proxy runs as a DaemonSet).
        "4.1.3": NA,
        "4.1.4": NA,
    }


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_check_fails_on_what_it_looks_at_and_only_it(check: str) -> None:
    before = verdicts(compliant().host())
    sample = compliant()
    BREAKS[check](sample)
    after = verdicts(sample.host())
    assert after[check] == FAIL, after[check]
    changed = {i for i in after if after[i] != before[i]}
    # A mode change on the kubelet's CA shows in 4.1.7/4.1.8 only; a second check may
    # read the same thing (1.2.6-1.2.8 read the authorization modes, 2.7 reads the CA).
    assert check in changed and len(changed) <= 2, changed


@pytest.mark.parametrize("check", sorted(SITE_BREAKS))
def test_a_site_decision_not_met_warns_with_the_setting(check: str) -> None:
    sample = compliant()
    SITE_BREAKS[check](sample)
    row = next(r for r in evaluate.host_rows(sample.host()) if r.check == check)
    assert row.status == WARN
    assert row.fix.startswith("the site's decision: ")


def test_anonymous_auth_false_passes_without_an_authentication_configuration() -> None:
    sample = compliant()
    api("authentication-config", None)(sample)
    assert verdicts(sample.host())["1.2.1"] == FAIL
    api("anonymous-auth", "false")(sample)
    assert verdicts(sample.host())["1.2.1"] == PASS


def test_authorization_configuration_replaces_the_modes() -> None:
    sample = compliant()
    api("authorization-mode", None)(sample)
    api("authorization-config", "/etc/kubernetes/authorization.yaml")(sample)
    types = [{"type": "Node"}, {"type": "RBAC"}]
    sample.files["/etc/kubernetes/authorization.yaml"] = {"authorizers": types}
    found = verdicts(sample.host())
    assert [found[i] for i in ("1.2.6", "1.2.7", "1.2.8")] == [PASS, PASS, PASS]


def test_a_kubelet_flag_wins_over_its_configuration_file() -> None:
    sample = compliant()
    sample.kubelet_args = "--read-only-port=10255 --anonymous-auth=false"
    kubelet("authentication.anonymous.enabled", True)(sample)
    found = verdicts(sample.host())
    assert (found["4.2.4"], found["4.2.1"]) == (FAIL, PASS)


def external_etcd_member() -> Host:
    """An external etcd host as roles/etcd configures it (etcd --config-file)."""
    config = (ROOT / "roles" / "etcd" / "templates" / "etcd.conf.yml.j2").read_text()
    text = "\n".join(line for line in config.splitlines() if "{%" not in line and "{#" not in line)
    text = text.replace("{{ _etcd_pki_dir }}", "/etc/etcd/pki").replace(
        "{{ etcd_data_dir }}", "/var/lib/etcd"
    )
    text = re.sub(r"\{\{[^}]*\}\}", "x", text)
    stats = {"/var/lib/etcd": {"mode": "700", "owner": "etcd", "group": "etcd", "dir": True}}
    facts = HostFacts.from_probe({"stat": stats, "text": {ETCD_CONFIG: text}})
    return Host("e1", facts, etcd=True, external_etcd=True)


def test_external_etcd_is_read_from_roles_etcd_configuration_file() -> None:
    host = external_etcd_member()
    flags = host.facts.etcd_flags(external=True)
    assert flags is not None and flags["peer-client-cert-auth"] == "true"
    found = verdicts(host)
    etcd = {i: s for i, s in found.items() if i.startswith("2.") or i in ("1.1.11", "1.1.12")}
    assert set(etcd.values()) == {PASS}, etcd
    # Not a control plane nor a node: nothing else applies.
    assert {s for i, s in found.items() if i not in etcd} == {NA}


def test_where_checks_do_not_apply() -> None:
    worker = compliant().host(control_plane=False, etcd=False)
    found = verdicts(worker)
    assert {s for i, s in found.items() if i[0] in "123"} == {NA}
    assert {s for i, s in found.items() if i.startswith("4.") and i not in ("4.1.3", "4.1.4")} == {
        PASS
    }
    outside = verdicts(compliant().host(etcd=False, external_etcd=True))
    assert outside["1.1.7"] == outside["1.1.8"] == outside["2.1"] == NA
    assert outside["1.1.1"] == PASS


def test_a_host_that_did_not_answer_is_unknown_where_checks_apply() -> None:
    rows = evaluate.unknown_rows(Host("w9", HostFacts(), node=True), "unreachable")
    assert {r.status for r in rows if r.check.startswith("4.")} == {UNKNOWN}
    assert {r.status for r in rows if not r.check.startswith("4.")} == {NA}
    assert all(r.detail == "unreachable" for r in rows)


def test_flags_parse_as_the_components_do() -> None:
    flags = Flags.parse(["kube-apiserver", "--a=1", "--b", "--c", "x", "--a=2"])
    assert flags == {"a": "2", "b": "true", "c": "x"}
    assert Flags.parse(["--p=NodeRestriction, EventRateLimit"]).items_of("p") == [
        "NodeRestriction",
        "EventRateLimit",
    ]


def test_the_probe_reads_follows_and_blanks_secrets(tmp_path: Path) -> None:
    manifest = tmp_path / "kube-apiserver.yaml"
    encryption = tmp_path / "encryption.yaml"
    manifest.write_text(
        f"spec:\n  containers:\n  - command:\n    - --encryption-provider-config={encryption}\n"
    )
    encryption.write_text(
        "providers:\n- secretbox:\n    keys:\n    - name: k1\n      secret: c2VjcmV0\n"
    )
    os.chmod(encryption, 0o600)
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_text("x")
    found = probe.main(
        {
            "read": [str(manifest)],
            "stat": [str(tmp_path / "missing")],
            "tree": [str(tmp_path / "pki")],
            "follow": wanted()["follow"],
        }
    )
    assert found["stat"][str(tmp_path / "missing")] is None
    assert found["stat"][str(encryption)]["mode"] == "600"
    assert "c2VjcmV0" not in found["text"][str(encryption)]
    assert (
        yaml.safe_load(found["text"][str(encryption)])["providers"][0]["secretbox"]["keys"][0][
            "name"
        ]
        == "k1"
    )
    assert [e["path"] for e in found["tree"][str(tmp_path / "pki")]] == [
        str(tmp_path / "pki"),
        str(tmp_path / "pki" / "ca.crt"),
    ]


@pytest.mark.parametrize(
    ("hosts", "said"),
    [
        (
            {"all": {"hosts": {"v1": {"ansible_host": "10.0.0.5"}}}},
            "No host is in group kube_control_plane; add at least one control-plane host to it.",
        ),
        (None, "does not exist; pass an existing inventory with -i."),
    ],
)
def test_bad_input_exits_2_with_one_sentence(hosts: Any, said: str, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory" / "hosts.yml"
    if hosts is not None:
        inventory.parent.mkdir()
        inventory.write_text(yaml.safe_dump(hosts))
    runs = tmp_path / "runs"
    runs.mkdir()
    done = run_program(
        "invoke", "cluster.cis", "-i", str(inventory), env={"INVOKE_KUBEPRIMER_RUNS_DIR": str(runs)}
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert not list(runs.iterdir())  # no host was reached


# --- the kubeadm test double's static pod manifests ----------------------------------


def fake_kubeadm() -> ModuleType:
    path = ROOT / "tests" / "doubles" / "fake-kubeadm"
    loader = importlib.machinery.SourceFileLoader("fake_kubeadm", str(path))
    spec = importlib.util.spec_from_loader("fake_kubeadm", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def manifests(double: ModuleType, init_text: str) -> dict[str, dict[str, Any]]:
    docs = double.kubeadm_documents(init_text)
    cluster = docs["ClusterConfiguration"]
    init = docs["InitConfiguration"]
    local = double.local_endpoint(init.get("localAPIEndpoint"), init.get("nodeRegistration"))
    commands = {
        "kube-apiserver": double.apiserver_command(cluster, local),
        "kube-controller-manager": double.controller_manager_command(cluster),
        "kube-scheduler": double.scheduler_command(cluster),
    }
    if not (cluster.get("etcd") or {}).get("external"):
        commands["etcd"] = double.etcd_command(cluster, local, False)
    return {
        c: yaml.safe_load(double.static_pod(c, cluster, cmd, local)) for c, cmd in commands.items()
    }


def command_flags(pod: dict[str, Any]) -> Flags:
    return Flags.parse(pod["spec"]["containers"][0]["command"])


@pytest.mark.parametrize("scenario", ["single", "ha"])
def test_the_double_derives_kubeadm_flags_from_the_rendered_cluster_configuration(
    rendered: dict[str, Path], scenario: str
) -> None:
    double = fake_kubeadm()
    text = (rendered[scenario] / "cp1" / "init.yaml").read_text()
    # Its own YAML reader (the hosts have no PyYAML) reads the file as PyYAML does.
    assert double.parse_yaml(text) == [d for d in yaml.safe_load_all(text) if d]
    cluster = double.kubeadm_documents(text)["ClusterConfiguration"]
    pods = manifests(double, text)
    api = command_flags(pods["kube-apiserver"])
    # kubeadm's own defaults...
    assert api["client-ca-file"] == f"{PKI}/ca.crt"
    assert api["tls-cert-file"] == f"{PKI}/apiserver.crt"
    assert api["service-account-key-file"] == f"{PKI}/sa.pub"
    assert api["secure-port"] == "6443"
    assert api["service-cluster-ip-range"] == cluster["networking"]["serviceSubnet"]
    assert "NodeRestriction" in api.items_of("enable-admission-plugins")
    # ...then every extraArg over them, by name.
    for arg in cluster["apiServer"]["extraArgs"]:
        assert api[arg["name"]] == str(arg["value"]), arg
    if "authorization-config" not in api:
        assert api["authorization-mode"] == "Node,RBAC"
    external = cluster["etcd"].get("external")
    if external:
        assert api["etcd-servers"] == ",".join(external["endpoints"])
        assert api["etcd-cafile"] == external["caFile"]
        assert api["etcd-certfile"] == external["certFile"]
        assert "etcd" not in pods
    else:
        assert api["etcd-servers"] == "https://127.0.0.1:2379"
        assert api["etcd-cafile"] == f"{PKI}/etcd/ca.crt"
        etcd = command_flags(pods["etcd"])
        assert etcd["data-dir"] == cluster["etcd"]["local"]["dataDir"]
        assert etcd["client-cert-auth"] == etcd["peer-client-cert-auth"] == "true"
    manager = command_flags(pods["kube-controller-manager"])
    assert manager["root-ca-file"] == f"{PKI}/ca.crt"
    assert manager["use-service-account-credentials"] == "true"
    for arg in cluster["controllerManager"]["extraArgs"]:
        assert manager[arg["name"]] == str(arg["value"]), arg
    scheduler = command_flags(pods["kube-scheduler"])
    assert scheduler["bind-address"] == "127.0.0.1"
    # The API server mounts its extraVolumes, and kubeadm's own PKI folder.
    spec = pods["kube-apiserver"]["spec"]
    mounted = {v["hostPath"]["path"] for v in spec["volumes"]}
    assert {v["hostPath"] for v in cluster["apiServer"]["extraVolumes"]} | {PKI} <= mounted
    names = [m["name"] for m in spec["containers"][0]["volumeMounts"]]
    assert sorted(names) == sorted(v["name"] for v in spec["volumes"])


def test_the_double_writes_manifests_at_kubeadms_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    double = fake_kubeadm()
    monkeypatch.setattr(double, "ETC", str(tmp_path / "etc"))
    cluster = {
        "etcd": {"local": {"dataDir": str(tmp_path / "etcd")}},
        "kubernetesVersion": "v1.37.1",
    }
    local = double.local_endpoint({"advertiseAddress": "10.0.0.11"}, {"name": "cp1"})
    double.write_manifests(copy.deepcopy(cluster), local)
    written = sorted(p.name for p in (tmp_path / "etc" / "manifests").iterdir())
    assert written == [
        "etcd.yaml",
        "kube-apiserver.yaml",
        "kube-controller-manager.yaml",
        "kube-scheduler.yaml",
    ]
    for path in (tmp_path / "etc" / "manifests").iterdir():
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "etcd").stat().st_mode & 0o777) == "0o700"
    image = yaml.safe_load((tmp_path / "etc" / "manifests" / "kube-apiserver.yaml").read_text())
    assert image["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-apiserver:v1.37.1"


def test_the_table_and_the_json_carry_the_same_rows_and_the_fix_where_one_is_due() -> None:
    from kubeprimer.cis import report
    from kubeprimer.output import plain_lines

    sample = compliant()
    BREAKS["1.1.1"](sample)
    rows = evaluate.host_rows(sample.host())
    rows += evaluate.unknown_rows(Host("w9", HostFacts(), node=True), "unreachable")
    data = report.data(rows)
    lines = plain_lines(report.listing(rows))
    assert len(lines) == 2 + len(data["checks"])  # title, header, one line per row
    failed = next(x for x in lines if x.startswith("1.1.1 ") and " cp1 " in x)
    assert "FAIL" in failed and "chmod 600 /etc/kubernetes/manifests/kube-apiserver.yaml" in failed
    assert data["counts"]["FAIL"] == 1 and data["unreachable"] == ["w9"]
    assert {c["status"] for c in data["checks"] if c["host"] == "w9"} == {UNKNOWN, NA}
