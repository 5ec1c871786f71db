"""roles/kubeadm/files/kubelet_serving_approver.py, run as on a control plane with the
real kubectl, against tests/doubles/fake_kube_api (a Kubernetes API test double over
HTTPS) holding real PKCS#10 requests: only kubelet-serving requests made by a node of
the inventory for its own names and addresses are approved; a wrong requestor, a name
or address of someone else, another signer or other usages stay pending."""

from __future__ import annotations

import base64
import ipaddress
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubeprimer.paths import ROLES, ROOT
from tests.doubles.fake_kube_api import FakeKubeApi

from .tls_api import serve_tls

pytestmark = pytest.mark.integration

APPROVER = ROLES / "kubeadm" / "files" / "kubelet_serving_approver.py"
KUBECTL = ROOT / "tests" / "doubles" / "kubectl-no-openapi"
SERVING = "kubernetes.io/kubelet-serving"
NODES = {"cp1": ["cp1", "10.0.0.11"], "w1": ["w1", "10.0.0.21"]}
KEY = ec.generate_private_key(ec.SECP256R1())


def request(
    cn: str,
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    org: str = "system:nodes",
    email: str | None = None,
) -> str:
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if email:
        names.append(x509.RFC822Name(email))
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    pem = builder.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return base64.b64encode(pem).decode()


def csr(
    name: str,
    user: str,
    pem: str,
    signer: str = SERVING,
    usages: tuple[str, ...] = ("digital signature", "server auth"),
    groups: tuple[str, ...] = ("system:nodes", "system:authenticated"),
) -> dict[str, Any]:
    return {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {
            "request": pem,
            "signerName": signer,
            "usages": list(usages),
            "username": user,
            "groups": list(groups),
        },
    }


GOOD = {
    "csr-cp1": csr(
        "csr-cp1", "system:node:cp1", request("system:node:cp1", ("cp1",), ("10.0.0.11",))
    ),
    "csr-w1": csr("csr-w1", "system:node:w1", request("system:node:w1", ips=("10.0.0.21",))),
}
MALICIOUS = {
    # w1 asks for a certificate in cp1's name.
    "wrong-requestor": csr(
        "wrong-requestor", "system:node:w1", request("system:node:cp1", ("cp1",))
    ),
    "not-a-node": csr(
        "not-a-node",
        "alice",
        request("system:node:cp1", ("cp1",)),
        groups=("system:authenticated",),
    ),
    "unknown-node": csr("unknown-node", "system:node:evil", request("system:node:evil", ("evil",))),
    "extra-dns": csr(
        "extra-dns",
        "system:node:cp1",
        request("system:node:cp1", ("cp1", "kubernetes.default.svc")),
    ),
    "other-nodes-ip": csr(
        "other-nodes-ip",
        "system:node:cp1",
        request("system:node:cp1", ("cp1",), ("10.0.0.11", "10.0.0.21")),
    ),
    "email-san": csr(
        "email-san", "system:node:cp1", request("system:node:cp1", ("cp1",), email="a@b.example")
    ),
    "other-org": csr(
        "other-org", "system:node:cp1", request("system:node:cp1", ("cp1",), org="system:masters")
    ),
    "no-names": csr("no-names", "system:node:cp1", request("system:node:cp1")),
    "client-usage": csr(
        "client-usage",
        "system:node:cp1",
        request("system:node:cp1", ("cp1",)),
        usages=("digital signature", "server auth", "client auth"),
    ),
    # Malformed requests must not stop the approver from serving the other nodes.
    "empty-request": csr(
        "empty-request",
        "system:node:cp1",
        base64.b64encode(
            b"-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"
        ).decode(),
    ),
    "truncated-request": csr(
        "truncated-request",
        "system:node:cp1",
        base64.b64encode(
            b"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"
        ).decode(),
    ),
    "other-signer": csr(
        "other-signer",
        "system:node:cp1",
        request("system:node:cp1", ("cp1",)),
        signer="kubernetes.io/kube-apiserver-client-kubelet",
    ),
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[FakeKubeApi, Path]]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    double = FakeKubeApi()
    kind = double.resolve("/apis/certificates.k8s.io/v1/certificatesigningrequests")[0]
    for body in (*GOOD.values(), *MALICIOUS.values()):
        double.create(kind, "", body)
    with serve_tls(double, tmp_path) as kubeconfig:
        yield double, kubeconfig


def approve(
    kubeconfig: Path, tmp_path: Path, *extra: str, rc: int = 0
) -> tuple[dict[str, Any], str]:
    nodes = tmp_path / "nodes.json"
    nodes.write_text(json.dumps({**NODES, "w2": ["w2", "10.0.0.22"]}))
    done = subprocess.run(
        [
            sys.executable,
            str(APPROVER),
            f"--kubeconfig={kubeconfig}",
            f"--nodes={nodes}",
            f"--kubectl={KUBECTL}",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == rc, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary, done.stderr


def decision(double: FakeKubeApi, name: str) -> list[str]:
    found = double.find("CertificateSigningRequest", "", name)
    assert found is not None
    return [c["type"] for c in (found.get("status") or {}).get("conditions") or []]


def test_approves_only_nodes_asking_for_their_own_names(
    api: tuple[FakeKubeApi, Path], tmp_path: Path
) -> None:
    double, kubeconfig = api
    summary, log = approve(kubeconfig, tmp_path, "--wait-for=cp1,w1")
    assert sorted(summary["approved"]) == sorted(GOOD)
    assert summary["nodes"] == ["cp1", "w1"]
    for name in GOOD:
        assert decision(double, name) == ["Approved"]
    for name in MALICIOUS:
        assert decision(double, name) == [], f"{name} was approved"
    # Every refusal is reported with its reason; another signer's requests are not ours.
    assert set(summary["refused"]) == set(MALICIOUS) - {"other-signer"}
    assert "requestor 'alice' is not a node of this cluster" in summary["refused"]["not-a-node"]
    assert "'kubernetes.default.svc'" in summary["refused"]["extra-dns"]
    assert "'10.0.0.21'" in summary["refused"]["other-nodes-ip"]
    assert "left pending: wrong-requestor: the subject is not CN=system:node:w1" in log

    # A second run finds nothing new to approve and still sees both nodes served.
    puts = [r for r in double.requests if r[0] == "PUT"]
    again, _ = approve(kubeconfig, tmp_path)
    assert again["approved"] == []
    assert again["nodes"] == ["cp1", "w1"]
    assert [r for r in double.requests if r[0] == "PUT"] == puts


def test_a_request_replaced_after_the_check_is_not_approved(
    api: tuple[FakeKubeApi, Path],
) -> None:
    double, _ = api
    kind = double.resolve("/apis/certificates.k8s.io/v1/certificatesigningrequests")[0]
    checked = double.find("CertificateSigningRequest", "", "csr-cp1")
    assert checked is not None
    double.delete(kind, "", "csr-cp1")
    double.create(kind, "", MALICIOUS["extra-dns"] | {"metadata": {"name": "csr-cp1"}})
    checked["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    with pytest.raises(Exception, match="Precondition failed"):
        double.approval(kind, "csr-cp1", checked)
    assert decision(double, "csr-cp1") == []


def test_waiting_for_a_node_without_an_approvable_request_fails_with_a_sentence(
    api: tuple[FakeKubeApi, Path], tmp_path: Path
) -> None:
    _, kubeconfig = api
    summary, log = approve(
        kubeconfig, tmp_path, "--wait-for=w1,w2", "--timeout=2", "--interval=1", rc=1
    )
    assert summary["nodes"] == ["cp1", "w1"]
    assert log.strip().splitlines()[-1] == (
        "No serving certificate request of w2 could be approved in 2 s: check that kubelet "
        "runs there and read the requests left pending above."
    )
