"""The reviewer objects for the kubernetes auth method, and where the cluster CA comes from."""

from __future__ import annotations

import base64
from pathlib import Path
from types import SimpleNamespace

import yaml

from kubeprimer.vault.kubernetes_auth import cluster_address_and_ca, reviewer_objects

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"


def test_reviewer_is_bound_to_auth_delegator_with_a_token_secret() -> None:
    objs = {o["kind"]: o for o in reviewer_objects("vault")}
    binding = objs["ClusterRoleBinding"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "system:auth-delegator",
    }
    assert binding["subjects"][0] == {
        "kind": "ServiceAccount",
        "name": "vault-token-reviewer",
        "namespace": "vault",
    }
    secret = objs["Secret"]
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["annotations"] == {
        "kubernetes.io/service-account.name": "vault-token-reviewer"
    }


def test_address_and_ca_come_from_an_https_kubeconfig(tmp_path: Path) -> None:
    from kubernetes import config

    kubeconfig = tmp_path / "admin.conf"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": "https://10.0.0.10:6443",
                            "certificate-authority-data": base64.b64encode(
                                CA_PEM.encode()
                            ).decode(),
                        },
                    }
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    host, ca = cluster_address_and_ca(SimpleNamespace(client=api_client))
    assert host == "https://10.0.0.10:6443"
    assert ca == CA_PEM
