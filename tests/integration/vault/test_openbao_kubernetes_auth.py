"""vault.k8s-auth: the reviewer account goes to the cluster, the config to a real OpenBao.

OpenBao is real. The Kubernetes side is FakeKubeApi (tests/doubles), a TEST DOUBLE of the
API server, because no kube-apiserver can run here; the test plays the token controller
that fills in the reviewer's token Secret. A pod logging in needs a live API server to
answer TokenReview, so that last step is not tested here (see docs/vault.md).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.doubles.fake_kube_api import FakeKubeApi

from .baoserver import DENIED, Setup, kubeprimer

pytestmark = pytest.mark.integration

REVIEWER_JWT = "eyJhbGciOiJSUzI1NiJ9.reviewer-test-token.c2lnbmF0dXJl"


def token_controller(api: FakeKubeApi, ca_pem: bytes, stop: threading.Event) -> None:
    """What kube-controller-manager does for a service-account-token Secret."""
    while not stop.wait(0.05):
        for obj in list(api.objects.values()):
            if obj.get("type") == "kubernetes.io/service-account-token" and "data" not in obj:
                obj["data"] = {
                    "token": base64.b64encode(REVIEWER_JWT.encode()).decode(),
                    "ca.crt": base64.b64encode(ca_pem).decode(),
                }


@pytest.fixture
def cluster(tmp_path: Path, setup: Setup) -> Iterator[tuple[FakeKubeApi, Path]]:
    api = FakeKubeApi()
    stop = threading.Event()
    # The double speaks plain HTTP, so the client takes no CA from the kubeconfig; the
    # cluster CA then comes from the token Secret, as the token controller puts it there.
    ca_pem = setup.server.ca.ca_cert.read_bytes()
    worker = threading.Thread(target=token_controller, args=(api, ca_pem, stop), daemon=True)
    worker.start()
    with api.serve(tmp_path) as kubeconfig:
        yield api, kubeconfig
    stop.set()
    worker.join()


def test_k8s_auth_creates_the_reviewer_and_writes_the_config(
    setup: Setup, cluster: tuple[FakeKubeApi, Path]
) -> None:
    api, kubeconfig = cluster
    args = ["--kubeconfig", str(kubeconfig), "--token-file", str(setup.token_file)]
    done = kubeprimer("vault.k8s-auth", *args, env=setup.env())
    assert done.returncode == 0, done.stderr
    assert REVIEWER_JWT not in done.stdout + done.stderr

    binding = api.find("ClusterRoleBinding", "", "vault-token-reviewer-auth-delegator")
    assert binding is not None
    assert binding["roleRef"]["name"] == "system:auth-delegator"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "vault-token-reviewer", "namespace": "vault"}
    ]
    assert api.find("ServiceAccount", "vault", "vault-token-reviewer") is not None

    config = setup.admin().auth.kubernetes.read_config()  # hvac returns the data part
    host = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    assert config["kubernetes_host"] == host
    assert config["kubernetes_ca_cert"].strip() == setup.server.ca.ca_cert.read_text().strip()
    assert config["token_reviewer_jwt_set"] is True

    again = kubeprimer("vault.k8s-auth", *args, env=setup.env())
    assert again.returncode == 0, again.stderr
    assert "ServiceAccount/vault-token-reviewer: unchanged" in again.stdout


def test_k8s_auth_without_a_usable_kubeconfig_is_one_sentence(setup: Setup, tmp_path: Path) -> None:
    missing = tmp_path / "nope.kubeconfig"
    done = kubeprimer(
        "vault.k8s-auth",
        "--kubeconfig",
        str(missing),
        "--token-file",
        str(setup.token_file),
        env=setup.env(),
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"error: The kubeconfig {missing} does not exist; pass --kubeconfig FILE."
    )


def test_k8s_auth_with_a_weak_token_changes_nothing_in_the_cluster(
    setup: Setup, cluster: tuple[FakeKubeApi, Path]
) -> None:
    api, kubeconfig = cluster
    weak = setup.weak_token()
    done = kubeprimer(
        "vault.k8s-auth",
        "--kubeconfig",
        str(kubeconfig),
        "--token-file",
        str(weak),
        env=setup.env(),
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == DENIED.format("auth")
    assert api.find("ServiceAccount", "vault", "vault-token-reviewer") is None


def test_k8s_auth_refuses_a_bad_mount_or_namespace_before_touching_either_side(
    setup: Setup, cluster: tuple[FakeKubeApi, Path]
) -> None:
    api, kubeconfig = cluster
    admin = setup.admin()
    admin.sys.enable_auth_method("kubernetes", path="team/k8s")
    before = admin.sys.list_auth_methods()["data"].keys()
    objects = set(api.objects)
    cases = {
        "kubernetes/": "--mount: 'kubernetes/' is not a valid auth mount path",
        "a b": "--mount: 'a b' is not a valid auth mount path",
        "token": "--mount: auth/token issues every token",
        "team": "--mount: auth/team would nest with the auth method at auth/team/k8s",
        "team/k8s/x": "--mount: auth/team/k8s/x would nest with the auth method at auth/team/k8s",
    }
    base = ["--kubeconfig", str(kubeconfig), "--token-file", str(setup.token_file)]
    for mount, expected in cases.items():
        done = kubeprimer("vault.k8s-auth", *base, "--mount", mount, env=setup.env())
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().startswith(f"error: {expected}"), done.stderr
    done = kubeprimer("vault.k8s-auth", *base, "--namespace", "Vault_NS", env=setup.env())
    assert done.returncode == 2, done.stderr
    assert "--namespace: 'Vault_NS' is not a Kubernetes namespace name" in done.stderr
    assert set(api.objects) == objects
    assert admin.sys.list_auth_methods()["data"].keys() == before
    admin.sys.disable_auth_method("team/k8s")
