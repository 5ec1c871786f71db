"""playbooks/upgrade.yml's cni step, with the real kubectl, against tests/doubles/fake_kube_api
(a Kubernetes API test double over HTTPS), on the fixtures of test_cni_role_fake_kube_api:
a cluster whose flannel cluster.up installed at an earlier release gets the pinned one in
place (same DaemonSet, new image), the step waits for the rollout, and a second run
changes nothing; a rollout that never finishes stops the step."""

from __future__ import annotations

import pytest

from kubeprimer import pins
from kubeprimer.paths import PLAYBOOKS

from . import test_cni_role_fake_kube_api as cni_role
from .test_cni_role_fake_kube_api import Api
from .test_cni_role_fake_kube_api import api as cluster_api  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

EARLIER = "v0.27.0"
STEP = ("-e", "kube_cni=flannel", "-e", "kubeprimer_upgrade_step=cni")


def flannel_image(api: Api) -> str:
    ds = api.double.find("DaemonSet", "kube-flannel", "kube-flannel-ds") or {}
    return str(ds["spec"]["template"]["spec"]["containers"][0]["image"])


def test_cni_step_takes_the_network_to_its_pin_then_changes_nothing(
    cluster_api: Api,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = cluster_api
    rc, log, _ = api.play("-e", "kube_cni=flannel", "-e", f"cni_flannel_version={EARLIER}")
    assert rc == 0, log[-5000:]
    assert flannel_image(api).endswith(f":{EARLIER}")

    monkeypatch.setattr(cni_role, "PLAYBOOK", PLAYBOOKS / "upgrade.yml")
    rc, log, stats = api.play(*STEP)
    assert rc == 0, log[-5000:]
    assert stats["cp1"]["changed"] >= 1
    assert flannel_image(api).endswith(f":{pins.load()['flannel']['version']}")
    assert "Wait for the network DaemonSet to run its new version on every node" in log

    rc, log, stats = api.play(*STEP)
    assert rc == 0, log[-5000:]
    assert stats["cp1"]["changed"] == 0


def test_cni_step_stops_on_a_rollout_that_never_finishes(
    cluster_api: Api,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = cluster_api
    rc, log, _ = api.play("-e", "kube_cni=flannel", "-e", f"cni_flannel_version={EARLIER}")
    assert rc == 0, log[-5000:]
    api.double.stuck.add("kube-flannel/kube-flannel-ds")
    monkeypatch.setattr(cni_role, "PLAYBOOK", PLAYBOOKS / "upgrade.yml")
    rc, log, _ = api.play(*STEP)
    assert rc != 0
    assert "Wait for the network DaemonSet to run its new version on every node" in log
    assert "FAILED - RETRYING" in log
