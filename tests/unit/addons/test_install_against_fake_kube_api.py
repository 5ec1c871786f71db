"""Install, re-install, prune, wait and remove: the real ``kubernetes`` client code,
talking HTTP to FakeKubeApi (tests/doubles), a test double of the Kubernetes API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from doubles.fake_kube_api import FakeKubeApi
from rich.console import Console

from kubeprimer.addons import actions, catalog, record
from kubeprimer.addons.install import Options
from kubeprimer.addons.kube import NotReady, connect
from kubeprimer.errors import UserError


def output(console: Console) -> str:
    file: Any = console.file
    return str(file.getvalue())


FAST = Options(timeout=5, poll=0.01)
CLUSTER = {"kube_node_cidr": "192.168.10.0/24", "addons_pool_addresses": ["192.168.10.240/28"]}


def install(
    samples: Path,
    kubeconfig: Path,
    console: Console,
    name: str,
    settings: dict[str, Any] | None = None,
    options: Options = FAST,
) -> None:
    addon = catalog.get(name, samples)
    actions.install_many([addon], {**CLUSTER, **(settings or {})}, kubeconfig, options, console)


def test_install_creates_labelled_objects_and_a_record(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    install(samples, kubeconfig, console, "web")
    deployment = fake_api.find("Deployment", "web", "web")
    assert deployment is not None
    assert deployment["metadata"]["labels"]["kubeprimer.io/addon"] == "web"
    assert deployment["metadata"]["managedFields"][0]["manager"] == "kubeprimer"
    rec = record.read(connect(kubeconfig), "web")
    assert rec is not None and rec.version == "1.2.3"
    assert [str(r) for r in rec.refs] == [
        "Namespace web",
        "ConfigMap web/web",
        "DaemonSet web/agent",
        "Deployment web/web",
        "StatefulSet web/db",
    ]
    text = output(console)
    assert "web 1.2.3 is installed (5 created)." in text
    assert "web answers on port 80." in text
    # Server-side apply, with kubeprimer as the field manager.
    assert ("PATCH", "/apis/apps/v1/namespaces/web/deployments/web") in fake_api.requests


def test_reinstall_changes_nothing(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    install(samples, kubeconfig, console, "web")
    versions = {k: o["metadata"]["resourceVersion"] for k, o in fake_api.objects.items()}
    install(samples, kubeconfig, console, "web")
    assert "web 1.2.3 is installed (5 unchanged)." in output(console)
    assert {k: o["metadata"]["resourceVersion"] for k, o in fake_api.objects.items()} == versions


def test_changed_settings_update_and_prune(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    install(samples, kubeconfig, console, "web", {"addons_web_extra": True})
    assert fake_api.find("ConfigMap", "web", "web-extra") is not None
    install(samples, kubeconfig, console, "web", {"addons_web_replicas": 3})
    assert fake_api.find("ConfigMap", "web", "web-extra") is None
    deployment = fake_api.find("Deployment", "web", "web")
    assert deployment is not None and deployment["spec"]["replicas"] == 3
    assert "(1 configured, 1 pruned, 4 unchanged)" in output(console)


def test_remove_deletes_what_install_created_and_nothing_else(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    before = set(fake_api.objects)
    install(samples, kubeconfig, console, "web")
    client = connect(kubeconfig)
    # Someone else's ConfigMap in kube-system, and one of ours taken over by a user.
    fake_api.create(
        fake_api.resolve("/api/v1/namespaces/kube-system/configmaps")[0],
        "kube-system",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}},
    )
    taken = fake_api.objects[("", "namespaces", "", "web")]
    taken["metadata"]["labels"] = {"owner": "someone"}
    actions.remove_one(catalog.get("web", samples), kubeconfig, console)
    assert fake_api.find("ConfigMap", "kube-system", "theirs") is not None
    assert fake_api.find("Namespace", "", "web") is not None
    assert fake_api.find("Deployment", "web", "web") is None
    assert record.read(client, "web") is None
    assert "kept, no longer labelled as web's: Namespace web" in output(console)
    assert set(fake_api.objects) - before == {
        ("", "configmaps", "kube-system", "theirs"),
        ("", "namespaces", "", "web"),
    }


def test_remove_of_an_addon_that_is_not_installed_is_a_user_error(
    samples: Path, kubeconfig: Path, console: Console
) -> None:
    with pytest.raises(
        UserError,
        match=r"web is not installed here \(there is no record kube-system/kubeprimer-addon-web\)\.",
    ):
        actions.remove_one(catalog.get("web", samples), kubeconfig, console)


def test_rollout_progress_is_waited_for(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    fake_api.rollout_step = 1
    install(samples, kubeconfig, console, "web")
    status = fake_api.find("DaemonSet", "web", "agent")
    assert status is not None and status["status"]["numberAvailable"] == 3
    assert "3/3" in output(console)


def test_a_stuck_rollout_times_out_naming_it(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    fake_api.stuck.add("web/db")
    with pytest.raises(
        NotReady, match=r"Not rolled out after 0 s: StatefulSet web/db has 0/1 ready\."
    ):
        install(samples, kubeconfig, console, "web", options=Options(timeout=0.2, poll=0.01))
    # The record was written first: what the failed install created can still be removed.
    actions.remove_one(catalog.get("web", samples), kubeconfig, console)
    assert fake_api.find("StatefulSet", "web", "db") is None


def test_custom_resources_wait_for_their_crd(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    install(samples, kubeconfig, console, "pool")
    paths = [p for m, p in fake_api.requests if m == "PATCH"]
    crd = paths.index("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/pools.example.io")
    pool = paths.index("/apis/example.io/v1/namespaces/pool-system/pools/default")
    assert crd < pool
    found = fake_api.find("Pool", "pool-system", "default")
    assert found is not None and found["spec"]["addresses"] == ["192.168.10.240/28"]
    actions.remove_one(catalog.get("pool", samples), kubeconfig, console)
    assert fake_api.find("CustomResourceDefinition", "", "pools.example.io") is None


def test_status_and_listing(
    samples: Path, kubeconfig: Path, fake_api: FakeKubeApi, console: Console
) -> None:
    install(samples, kubeconfig, console, "web")
    assert actions.status_data(kubeconfig)["ready"]
    fake_api.stuck.add("web/web")
    fake_api.objects[("apps", "deployments", "web", "web")]["status"]["_ready"] = 0
    assert not actions.status_data(kubeconfig)["ready"]


def test_bad_kubeconfig_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(
        UserError, match=r"The kubeconfig .*missing does not exist; pass --kubeconfig FILE\."
    ):
        connect(tmp_path / "missing")


def test_the_double_requires_a_token(kubeconfig: Path) -> None:
    kubeconfig.write_text(kubeconfig.read_text().replace("fake-kube-api-token", "wrong"))
    with pytest.raises(Exception, match="401"):
        connect(kubeconfig)


def test_an_unreachable_api_server_is_one_sentence(tmp_path: Path, kubeconfig: Path) -> None:
    dead = tmp_path / "dead.kubeconfig"
    # Port 1 on loopback: reserved, nothing listens there.
    dead.write_text(
        re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:1", kubeconfig.read_text())
    )
    with pytest.raises(
        UserError, match=r"The API server at http://127\.0\.0\.1:1 cannot be reached"
    ):
        connect(dead)
