"""kubeadm's own verdict: ``kubeadm upgrade plan <version> -o json`` read from outputs in
kubeadm's documented UpgradePlan shape (output.kubeadm.k8s.io v1alpha3 and v1alpha2;
kubeadm itself cannot run here), through the same runner interface as the hosts."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from kubeprimer.errors import UserError
from kubeprimer.paths import ROOT
from kubeprimer.upgrade import kubeadm_plan
from kubeprimer.upgrade.remote import Answer
from tests.unit.upgrade.cluster_state import inventory

LOG = (
    "[preflight] Running pre-flight checks.\n"
    '[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace '
    '"kube-system"...\n'
    "[upgrade] Running cluster health checks\n"
)


def v1alpha3(new: str, current: str = "v1.36.4") -> str:
    components = [
        {"name": n, "currentVersion": current, "newVersion": new, "nodeName": "cp1"}
        for n in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet")
    ] + [{"name": "etcd", "currentVersion": "3.6.4-0", "newVersion": "3.6.5-0", "nodeName": "cp1"}]
    plan = {
        "kind": "UpgradePlan",
        "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
        "availableUpgrades": [{"description": "version in command line", "components": components}],
        "configVersions": [],
    }
    return LOG + json.dumps(plan, indent=4) + "\n"


def test_the_command_asks_for_json_with_the_admin_kubeconfig() -> None:
    said = shlex.split(kubeadm_plan.command("1.37.1", "/opt/new/kubeadm"))
    assert said[:4] == ["/opt/new/kubeadm", "upgrade", "plan", "v1.37.1"]
    assert said[4:9] == ["--kubeconfig", "/etc/kubernetes/admin.conf", "-o", "json", "2>&1"]


def test_a_plan_that_offers_the_target_passes() -> None:
    kubeadm_plan.verdict("cp1", "1.37.1", Answer(True, v1alpha3("v1.37.1")))


def test_the_older_v1alpha2_shape_is_read_too() -> None:
    plan = {
        "kind": "UpgradePlan",
        "apiVersion": "output.kubeadm.k8s.io/v1alpha2",
        "components": [
            {"name": "kube-apiserver", "currentVersion": "v1.36.4", "newVersion": "v1.37.1"}
        ],
    }
    kubeadm_plan.verdict("cp1", "1.37.1", Answer(True, json.dumps(plan)))


def test_a_plan_to_another_release_is_refused() -> None:
    with pytest.raises(UserError) as caught:
        kubeadm_plan.verdict("cp1", "1.37.1", Answer(True, v1alpha3("v1.37.0")))
    (said,) = caught.value.messages
    assert said.startswith("kubeadm upgrade plan on cp1 does not offer Kubernetes 1.37.1")
    assert "(it offers v1.37.0)" in said


def test_an_up_to_date_plan_offers_nothing() -> None:
    empty = {
        "kind": "UpgradePlan",
        "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
        "configVersions": [],
    }
    with pytest.raises(UserError, match="it offers nothing"):
        kubeadm_plan.verdict("cp1", "1.37.1", Answer(True, LOG + json.dumps(empty)))


def test_kubeadms_error_is_quoted() -> None:
    failed = (
        LOG + "[upgrade/versions] kubeadm version: v1.36.4\n"
        'error: Specified version to upgrade to "v1.37.1" is higher than the kubeadm version '
        '"v1.36.4". Upgrade kubeadm first using the tool you used to install kubeadm\n'
    )
    with pytest.raises(UserError) as caught:
        kubeadm_plan.verdict("cp1", "1.37.1", Answer(False, failed, "non-zero return code"))
    (said,) = caught.value.messages
    assert said.startswith(
        "kubeadm upgrade plan 1.37.1 on cp1 refused the upgrade (error: Specified"
    )
    assert said.endswith("then run invoke cluster.upgrade again.")


def test_an_unreachable_control_plane_is_refused() -> None:
    with pytest.raises(UserError, match=r"refused the upgrade \(unreachable over SSH"):
        kubeadm_plan.verdict("cp1", "1.37.1", Answer(False, "", "unreachable over SSH (timeout)"))


def test_check_asks_the_first_control_plane_only(tmp_path: Path) -> None:
    asked: list[tuple[list[str], str]] = []

    def run(inv: object, hosts: list[str], command: str, timeout: int) -> dict[str, Answer]:
        asked.append((hosts, command))
        return {"cp1": Answer(True, v1alpha3("v1.37.1"))}

    kubeadm_plan.check(inventory(tmp_path), "1.37.1", run=run)
    assert asked == [(["cp1"], kubeadm_plan.command("1.37.1"))]


@pytest.fixture
def fake_kubeadm(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """tests/doubles/fake-kubeadm (a TEST DOUBLE) on a control plane its init set up at
    v1.36.4, being kubeadm v1.37.1 itself."""
    state, etc = tmp_path / "state", tmp_path / "etc"
    state.mkdir()
    etc.mkdir()
    (etc / "admin.conf").write_text("apiVersion: v1\nkind: Config\n")
    (state / "cluster.json").write_text(json.dumps({"version": "v1.36.4", "tokens": {}}))
    env = {
        "FAKE_KUBEADM_STATE": str(state),
        "FAKE_KUBEADM_ETC": str(etc),
        "FAKE_KUBEADM_KUBELET": str(tmp_path / "kubelet"),
        "FAKE_KUBEADM_VERSION": "v1.37.1",
        "PATH": "/usr/bin:/bin",
    }
    return str(ROOT / "tests" / "doubles" / "fake-kubeadm"), env


def ask_double(double: tuple[str, dict[str, str]], target: str) -> Answer:
    command = kubeadm_plan.command(target, double[0])
    done = subprocess.run(
        command, shell=True, env=double[1], capture_output=True, text=True, timeout=30
    )
    return Answer(done.returncode == 0, done.stdout, "" if done.returncode == 0 else "failed")


def test_the_kubeadm_double_offers_the_next_minor(fake_kubeadm: tuple[str, dict[str, str]]) -> None:
    kubeadm_plan.verdict("cp1", "1.37.1", ask_double(fake_kubeadm, "1.37.1"))


@pytest.mark.parametrize(
    ("target", "reason"),
    [("1.36.0", "is lower than the cluster version"), ("1.38.0", "is too high")],
)
def test_the_kubeadm_doubles_refusal_is_quoted(
    fake_kubeadm: tuple[str, dict[str, str]], target: str, reason: str
) -> None:
    with pytest.raises(UserError) as caught:
        kubeadm_plan.verdict("cp1", target, ask_double(fake_kubeadm, target))
    (said,) = caught.value.messages
    assert said.startswith(f"kubeadm upgrade plan {target} on cp1 refused the upgrade (")
    assert reason in said
