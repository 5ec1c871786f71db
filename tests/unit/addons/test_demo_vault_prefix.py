"""The demo's Vault annotations use the prefix the configured injector watches."""

from __future__ import annotations

from typing import Any

import pytest

from kubeprimer.addons import catalog, config, render


def pod_annotations(cluster: dict[str, Any]) -> dict[str, str]:
    resolved = config.resolve(catalog.get("demo", kind=None), cluster)
    backend = next(
        o
        for o in render.objects(resolved)
        if o["kind"] == "Deployment" and "backend" in o["metadata"]["name"]
    )
    return dict(backend["spec"]["template"]["metadata"].get("annotations") or {})


@pytest.mark.parametrize(
    ("injector", "prefix"),
    [
        ({}, "openbao.openbao.org/"),
        ({"addons_vault_injector_flavor": "vault"}, "vault.hashicorp.com/"),
        ({"addons_vault_injector": {"flavor": "openbao"}}, "openbao.openbao.org/"),
    ],
)
def test_prefix_follows_the_injector_flavor(injector: dict[str, Any], prefix: str) -> None:
    enabled = {
        "addons_enabled": ["vault-injector", "demo"],
        "addons_vault_injector_vault_addr": "https://vault.example.test:8200",
    }
    annotations = pod_annotations({**enabled, **injector})
    assert annotations[f"{prefix}agent-inject"] == "true"
    assert annotations[f"{prefix}role"] == "demo"
    assert not [k for k in annotations if "agent-inject" in k and not k.startswith(prefix)]


def test_no_vault_annotations_without_the_injector() -> None:
    annotations = pod_annotations({"addons_demo_database_password": "x"})
    assert not [k for k in annotations if "agent-inject" in k]
