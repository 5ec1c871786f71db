"""Section 2 (etcd node configuration) of cis-1.12, on every etcd member: the static
pod's flags with stacked etcd, roles/etcd's configuration file with external etcd."""

from __future__ import annotations

from collections.abc import Callable

from kubeprimer.cis.check import ETCD, FAIL, Check, Host, Test, Verdict, equals, is_set, passed
from kubeprimer.cis.facts import KUBELET_CA, Flags


def _etcd(judge: Callable[[Flags, Host], Verdict]) -> Test:
    def test(host: Host) -> Verdict:
        flags = host.facts.etcd_flags(host.external_etcd)
        if flags is None:
            where = "configuration file" if host.external_etcd else "static pod manifest"
            return Verdict(FAIL, f"no etcd {where}")
        return judge(flags, host)

    return test


def _unique_ca(flags: Flags, host: Host) -> Verdict:
    """--trusted-ca-file set, and not the Kubernetes CA (etcd has its own trust domain)."""
    path = flags.get("trusted-ca-file", "")
    if not path:
        return Verdict(FAIL, "--trusted-ca-file not set")
    return passed(path != KUBELET_CA, path)


def _check(id_: str, title: str, fix: str, judge: Callable[[Flags, Host], Verdict]) -> Check:
    return Check(id_, title, ETCD, fix, _etcd(judge))


ETCD_CHECKS: list[Check] = [
    _check(
        "2.1",
        "The --cert-file and --key-file arguments are set",
        "set etcd's --cert-file and --key-file (client TLS)",
        is_set("cert-file", "key-file"),
    ),
    _check(
        "2.2",
        "The --client-cert-auth argument is set to true",
        "set etcd's --client-cert-auth=true",
        equals("client-cert-auth", "true"),
    ),
    _check(
        "2.3",
        "The --auto-tls argument is not set to true",
        "remove etcd's --auto-tls or set it to false",
        equals("auto-tls", "false", default_ok=True),
    ),
    _check(
        "2.4",
        "The --peer-cert-file and --peer-key-file arguments are set",
        "set etcd's --peer-cert-file and --peer-key-file",
        is_set("peer-cert-file", "peer-key-file"),
    ),
    _check(
        "2.5",
        "The --peer-client-cert-auth argument is set to true",
        "set etcd's --peer-client-cert-auth=true",
        equals("peer-client-cert-auth", "true"),
    ),
    _check(
        "2.6",
        "The --peer-auto-tls argument is not set to true",
        "remove etcd's --peer-auto-tls or set it to false",
        equals("peer-auto-tls", "false", default_ok=True),
    ),
    _check(
        "2.7",
        "A unique Certificate Authority is used for etcd",
        "set etcd's --trusted-ca-file to a CA of etcd's own, not the Kubernetes CA",
        _unique_ca,
    ),
]
