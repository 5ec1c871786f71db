"""A re-install that moves a DaemonSet to another namespace (node-exporter and Fluentd
left monitoring and logging for namespaces of their own) deletes the old one before it
applies the new one: both hold port 9100, or the same buffer folder, on every node, so
the new pods could not start beside the old ones. Real client, FakeKubeApi test double."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from doubles.fake_kube_api import FakeKubeApi
from manifests import CLUSTER_DEFAULTS, cases
from rich.console import Console

from kubeprimer.addons import actions, catalog, record
from kubeprimer.addons.install import Options, apply
from kubeprimer.addons.kube import connect
from kubeprimer.addons.record import Ref


@pytest.mark.parametrize(
    ("addon_name", "old_namespace", "daemonset"),
    [("monitoring", "monitoring", "node-exporter"), ("logging", "logging", "fluentd")],
)
def test_the_old_daemonset_goes_before_the_new_one_is_applied(
    addon_name: str, old_namespace: str, daemonset: str, tmp_path: Path
) -> None:
    (case,) = [c for c in cases() if c.id == f"{addon_name}-defaults"]
    addon = catalog.get(addon_name, kind=None)
    settings = {**CLUSTER_DEFAULTS, **case.settings}
    api = FakeKubeApi()
    console = Console(file=StringIO(), width=160)
    fast = Options(timeout=5, poll=0.01)
    with api.serve(tmp_path) as kubeconfig:
        actions.install_many([addon], settings, kubeconfig, fast, console)
        new_namespace = next(
            ns for (_, _, ns, name) in api.objects if name == daemonset and ns != ""
        )
        assert new_namespace != old_namespace
        # What the previous release left: the DaemonSet in the addon's main namespace.
        old = api.find("DaemonSet", new_namespace, daemonset)
        assert old is not None
        old["metadata"] = {
            "name": daemonset,
            "namespace": old_namespace,
            "labels": old["metadata"]["labels"],
        }
        client = connect(kubeconfig)
        apply(client, {k: v for k, v in old.items() if k != "status"})
        previous = record.read(client, addon_name)
        assert previous is not None
        moved = Ref("apps/v1", "DaemonSet", old_namespace, daemonset)
        record.write(client, addon_name, previous.version, [*previous.refs, moved])
        api.requests.clear()

        actions.install_many([addon], settings, kubeconfig, fast, console)

    assert api.find("DaemonSet", old_namespace, daemonset) is None
    assert api.find("DaemonSet", new_namespace, daemonset) is not None
    deleted = ("DELETE", f"/apis/apps/v1/namespaces/{old_namespace}/daemonsets/{daemonset}")
    applied = ("PATCH", f"/apis/apps/v1/namespaces/{new_namespace}/daemonsets/{daemonset}")
    # The first apply of an addon object (the record in kube-system is written before).
    first_apply = next(
        i
        for i, (verb, path) in enumerate(api.requests)
        if verb == "PATCH" and "kube-system" not in path
    )
    assert api.requests.index(deleted) < first_apply <= api.requests.index(applied)
