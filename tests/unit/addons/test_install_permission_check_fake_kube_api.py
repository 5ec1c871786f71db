"""addons.install with a user that may read but not write everything: the real
``kubernetes`` client asks the Kubernetes API test double (tests/doubles) a
SelfSubjectAccessReview per resource before the first write, and the double enforces
the same RBAC policy on the writes themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from doubles.fake_kube_api import FakeKubeApi
from rich.console import Console

from kubeprimer.addons import actions, catalog
from kubeprimer.addons.install import Options
from kubeprimer.addons.kube import Stopped
from kubeprimer.errors import UserError

CLUSTER = {"kube_node_cidr": "192.168.10.0/24", "addons_pool_addresses": ["192.168.10.240/28"]}
WRITES = ("create", "patch", "update", "delete")


def _install(samples: Path, kubeconfig: Path, console: Console, name: str) -> None:
    addon = catalog.get(name, samples)
    actions.install_many([addon], CLUSTER, kubeconfig, Options(timeout=5, poll=0.01), console)


def _writes(api: FakeKubeApi) -> list[tuple[str, str]]:
    return [
        (method, path)
        for method, path in api.requests
        if method != "GET" and not path.endswith("/selfsubjectaccessreviews")
    ]


def test_a_read_only_user_is_refused_before_anything_is_applied(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    fake_api.policy = lambda verb, *_: verb not in WRITES
    before = dict(fake_api.objects)
    with pytest.raises(UserError) as caught:
        _install(samples, kubeconfig, console, "web")
    message = caught.value.messages[0]
    assert message.startswith("The kubeconfig's user may not create/patch configmaps in namespace")
    assert "create/patch deployments.apps in namespace web" in message
    assert "create/patch namespaces;" in message
    assert message.endswith(
        "so nothing was applied; pass a kubeconfig whose user may (an admin one) with --kubeconfig."
    )
    assert _writes(fake_api) == []
    assert fake_api.objects == before


def test_one_refused_resource_is_named_and_nothing_is_applied(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    fake_api.policy = lambda verb, group, resource, ns: (
        not (verb in WRITES and (group, resource, ns) == ("apps", "statefulsets", "web"))
    )
    with pytest.raises(UserError) as caught:
        _install(samples, kubeconfig, console, "web")
    assert caught.value.messages == [
        "The kubeconfig's user may not create/patch statefulsets.apps in namespace web, so "
        "nothing was applied; pass a kubeconfig whose user may (an admin one) with --kubeconfig."
    ]
    assert _writes(fake_api) == []


def test_custom_resources_of_the_addons_own_crds_are_checked_too(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    # The pools CRD is not served before the install; its plural comes from the CRD.
    fake_api.policy = lambda verb, group, *_: not (verb in WRITES and group == "example.io")
    with pytest.raises(UserError) as caught:
        _install(samples, kubeconfig, console, "pool")
    assert "create/patch pools.example.io in namespace pool-system" in caught.value.messages[0]
    assert _writes(fake_api) == []


def test_a_write_refused_after_the_check_names_what_was_applied(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    # The review allows everything; the write is refused anyway (an admission webhook).
    fake_api.review_policy = lambda *_: True
    fake_api.policy = lambda verb, group, resource, ns: (
        not (verb in WRITES and resource == "statefulsets")
    )
    with pytest.raises(Stopped) as caught:
        _install(samples, kubeconfig, console, "web")
    message = str(caught.value)
    assert message.startswith(
        "The API server refused StatefulSet web/db (statefulsets is forbidden"
    )
    assert "4 objects of web were applied (listed above)" in message
    assert message.endswith("'invoke addons.remove web'.")
    assert fake_api.find("Deployment", "web", "web") is not None
    fake_api.policy = None
    actions.remove_one(catalog.get("web", samples), kubeconfig, console)
    assert fake_api.find("Deployment", "web", "web") is None
    assert fake_api.find("Namespace", "", "web") is None


def test_an_admin_passes_the_check(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    _install(samples, kubeconfig, console, "web")
    reviews: Any = [p for m, p in fake_api.requests if p.endswith("/selfsubjectaccessreviews")]
    assert reviews, "the install asked before it wrote"
    assert fake_api.find("StatefulSet", "web", "db") is not None


@pytest.mark.parametrize(("reviews_allow", "code"), [(False, 2), (True, 1)])
def test_the_task_exit_status(
    tmp_path: Path, kubeconfig: Path, fake_api: FakeKubeApi, reviews_allow: bool, code: int
) -> None:
    """addons.install itself: refused by the check, 2; refused by a write after it, 1."""
    from invoke import Context, Exit

    from kubeprimer.tasks import addons

    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {"kube_node_cidr": "192.168.50.0/24"},
                    "children": {
                        "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "192.168.50.11"}}},
                        "kube_node": {"hosts": {}},
                    },
                }
            }
        )
    )
    fake_api.policy = lambda verb, group, resource, ns: (
        not (verb in WRITES and resource == "daemonsets")
    )
    if reviews_allow:
        fake_api.review_policy = lambda *_: True
    with pytest.raises(Exit) as caught:
        addons.install(
            Context(), "ingress", inventory=str(inventory), kubeconfig=str(kubeconfig), timeout=5
        )
    assert caught.value.code == code
    assert "daemonsets" in str(caught.value.message)
