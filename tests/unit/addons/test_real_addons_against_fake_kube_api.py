"""Every real addon (its first tests.yml variant) installs, re-installs unchanged and
removes cleanly through the real client against FakeKubeApi, the Kubernetes API test
double (tests/doubles). MetalLB, for one, must have its CRDs established before its pool."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from doubles.fake_kube_api import FakeKubeApi
from manifests import CLUSTER_DEFAULTS, Case, cases
from rich.console import Console

from kubeprimer.addons import actions, catalog
from kubeprimer.addons.install import Options

FIRST_VARIANTS = list({c.addon: c for c in reversed(cases())}.values())


@pytest.mark.parametrize("case", FIRST_VARIANTS, ids=lambda c: c.addon)
def test_install_reinstall_remove(case: Case, tmp_path: Path) -> None:
    api = FakeKubeApi()
    before = set(api.objects)
    out = StringIO()
    console = Console(file=out, width=160)
    addon = catalog.get(case.addon, kind=None)
    settings = {**CLUSTER_DEFAULTS, **case.settings}
    with api.serve(tmp_path) as kubeconfig:
        actions.install_many([addon], settings, kubeconfig, Options(timeout=5, poll=0.01), console)
        assert re.search(rf"{addon.name} \S+ is installed \(\d+ created\)\.", out.getvalue())
        versions = {k: o["metadata"]["resourceVersion"] for k, o in api.objects.items()}
        out.truncate(0)
        actions.install_many([addon], settings, kubeconfig, Options(timeout=5, poll=0.01), console)
        assert {k: o["metadata"]["resourceVersion"] for k, o in api.objects.items()} == versions
        assert re.search(rf"{addon.name} \S+ is installed \(\d+ unchanged\)\.", out.getvalue())
        actions.remove_one(addon, kubeconfig, console)
    assert set(api.objects) == before
