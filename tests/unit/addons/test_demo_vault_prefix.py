"""The demo's Vault annotations use the prefix the injector watches: vault-k8s, which the
vault-injector addon runs for both flavors, watches vault.hashicorp.com/."""

from __future__ import annotations

from typing import Any

import pytest

from kubeprimer.addons import catalog, config, render

PREFIX = "vault.hashicorp.com/"


def pod_annotations(cluster: dict[str, Any]) -> dict[str, str]:
    resolved = config.resolve(catalog.get("demo", kind=None), cluster)
    backend = next(
        o
        for o in render.objects(resolved)
        if o["kind"] == "Deployment" and "backend" in o["metadata"]["name"]
    )
    return dict(backend["spec"]["template"]["metadata"].get("annotations") or {})


@pytest.mark.parametrize(
    "injector",
    [
        {},
        {"addons_vault_injector_flavor": "vault"},
        {"addons_vault_injector": {"flavor": "openbao"}},
    ],
)
def test_annotations_use_the_prefix_vault_k8s_watches(injector: dict[str, Any]) -> None:
    enabled = {
        "addons_enabled": ["vault-injector", "demo"],
        "addons_vault_injector_vault_addr": "https://vault.example.test:8200",
    }
    annotations = pod_annotations({**enabled, **injector})
    assert annotations[f"{PREFIX}agent-inject"] == "true"
    assert annotations[f"{PREFIX}role"] == "demo"
    assert not [k for k in annotations if "agent-inject" in k and not k.startswith(PREFIX)]


def test_both_flavors_run_the_published_injector_with_their_own_agent() -> None:
    addon = catalog.get("vault-injector")
    assert addon.images["injector"].ref() == f"docker.io/hashicorp/vault-k8s:{addon.version}"
    agents = {
        flavor: render.objects(
            config.resolve(
                addon,
                {
                    "addons_vault_injector_flavor": flavor,
                    "addons_vault_injector_vault_addr": "https://vault.example.test:8200",
                    "addons_vault_injector_ca_cert": "-----BEGIN CERTIFICATE-----\nx\n",
                },
            )
        )
        for flavor in ("openbao", "vault")
    }
    for flavor, want in (("openbao", "openbao/openbao:"), ("vault", "hashicorp/vault:")):
        deployment = next(o for o in agents[flavor] if o["kind"] == "Deployment")
        env = {
            e["name"]: e.get("value")
            for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert want in env["AGENT_INJECT_VAULT_IMAGE"], flavor


def test_no_vault_annotations_without_the_injector() -> None:
    annotations = pod_annotations({"addons_demo_database_password": "x"})
    assert not [k for k in annotations if "agent-inject" in k]
