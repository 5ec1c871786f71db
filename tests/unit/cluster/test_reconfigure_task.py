"""cluster.reconfigure as users run it (the invoke program), against the API double
(tests/doubles/fake_kube_api.py) for the ConfigMaps and the nodes' readiness, with a
clearly named test double of the playbook run (``FakePlays``): its read step leaves the
files playbooks/reconfigure.yml's read step leaves, and it records the other steps.
The hosts' side is tested with the kubeadm double in
tests/integration/cluster/test_reconfigure_fake_kubeadm_lab_nodes.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.ansible import RunResult
from kubeprimer.cluster import reconfigure_record as record
from kubeprimer.inventory import load
from kubeprimer.tasks import _common
from tests.doubles.fake_kube_api import FakeKubeApi
from tests.unit.cluster.test_remove_refusals import _invoke, write_inventory

GROUPS = {"kube_control_plane": ["cp1"], "kube_node": ["w1"], "etcd": ["cp1"]}
RUNNING_CLUSTER = {
    "apiVersion": "kubeadm.k8s.io/v1beta4",
    "kind": "ClusterConfiguration",
    "certificatesDir": "/etc/kubernetes/pki",
    "apiServer": {"extraArgs": [{"name": "profiling", "value": "false"}]},
    "scheduler": {"extraArgs": [{"name": "profiling", "value": "false"}]},
}
RUNNING_KUBELET = {
    "apiVersion": "kubelet.config.k8s.io/v1beta1",
    "kind": "KubeletConfiguration",
    "clusterDNS": ["10.96.0.10"],
    "readOnlyPort": 0,
}
POLICY = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Metadata"}]}


class FakePlays:
    """Test double of run_playbook for playbooks/reconfigure.yml: the read step writes
    ``wanted`` (and cp1's running audit policy) where the real step would; every run is
    recorded as (step, limit, extravars); ``fail`` names a step:limit that fails once."""

    def __init__(self, wanted: dict[str, Any], fail: str = "") -> None:
        self.wanted, self.fail = wanted, fail
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, playbook: str, inventory: Path, **options: Any) -> RunResult:
        if playbook == "cluster.yml":  # cluster.plan's check-mode run
            assert options["check"]
            return RunResult(0, inventory.parent, {"cp1": {"changed": 2}}, [])
        assert playbook == "reconfigure.yml"
        values = options["extravars"]
        step, limit = values["kubeprimer_reconfigure_step"], options["limit"]
        self.calls.append((step, limit, values))
        if step == "read":
            folder = Path(values["kubeprimer_reconfigure_dir"])
            (folder / "running-audit").mkdir()
            documents = [self.wanted["cluster"], self.wanted["kubelet"]]
            (folder / "wanted-init.yaml").write_text(yaml.safe_dump_all(documents))
            (folder / "wanted-audit-policy.yaml").write_text(yaml.safe_dump(POLICY))
            (folder / "running-audit" / "cp1.yaml").write_text(yaml.safe_dump(POLICY))
        if f"{step}:{limit}" == self.fail:
            self.fail = ""
            return RunResult(1, inventory.parent, {limit: {"failed": 1}}, [])
        return RunResult(0, inventory.parent, {limit: {"changed": 1}}, [])

    def steps(self) -> list[tuple[str, str]]:
        return [(step, limit) for step, limit, _ in self.calls if step != "read"]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[FakeKubeApi, Path]]:
    api = FakeKubeApi()
    configmaps = api.resolve("/api/v1/namespaces/kube-system/configmaps")[0]
    for name, key, document in (
        ("kubeadm-config", "ClusterConfiguration", RUNNING_CLUSTER),
        ("kubelet-config", "kubelet", RUNNING_KUBELET),
    ):
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name},
            "data": {key: yaml.safe_dump(document)},
        }
        api.create(configmaps, "kube-system", body)
    for node in ("cp1", "w1"):
        api.add_node(node)
    with api.serve(tmp_path) as kubeconfig:
        inventory = write_inventory(tmp_path, GROUPS, kubeadm_admin_kubeconfig=str(kubeconfig))
        yield api, inventory


def data(api: FakeKubeApi, name: str, key: str) -> dict[str, Any]:
    found = api.find("ConfigMap", "kube-system", name)
    assert found is not None
    loaded: dict[str, Any] = yaml.safe_load(found["data"][key])
    return loaded


def changed_wanted() -> dict[str, Any]:
    cluster = {
        **RUNNING_CLUSTER,
        "apiServer": {
            "extraArgs": [{"name": "profiling", "value": "false"}, {"name": "v", "value": "4"}]
        },
    }
    return {"cluster": cluster, "kubelet": {**RUNNING_KUBELET, "maxPods": 150}}


@pytest.fixture
def plays(monkeypatch: pytest.MonkeyPatch) -> FakePlays:
    """The playbook runner cluster.reconfigure and cluster.plan call, on an inventory
    whose settings differ from what the cluster runs."""
    fake = FakePlays(changed_wanted())
    monkeypatch.setattr(_common, "run_playbook", fake)
    return fake


def test_without_a_terminal_or_yes_it_refuses_before_reading_anything(
    cluster: tuple[FakeKubeApi, Path],
    monkeypatch: pytest.MonkeyPatch,
    plays: FakePlays,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api, inventory = cluster
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert _invoke("cluster.reconfigure", "-i", str(inventory)) == 2
    assert "needs confirmation: run it in a terminal, or add --yes." in capsys.readouterr().err
    assert plays.calls == [] and api.requests == []


def test_nothing_to_do_says_so_and_changes_nothing(
    cluster: tuple[FakeKubeApi, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api, inventory = cluster
    # The inventory renders no clusterDNS: kubeadm's own field in the ConfigMap is no difference.
    kubelet = {k: v for k, v in RUNNING_KUBELET.items() if k != "clusterDNS"}
    plays = FakePlays({"cluster": RUNNING_CLUSTER, "kubelet": kubelet})
    monkeypatch.setattr(_common, "run_playbook", plays)
    assert _invoke("cluster.reconfigure", "-i", str(inventory), "--yes") == 0
    assert "Nothing to reconfigure" in capsys.readouterr().out
    assert plays.steps() == []
    assert not any(method != "GET" for method, _ in api.requests)


def test_apply_updates_the_configmaps_then_control_planes_then_each_node(
    cluster: tuple[FakeKubeApi, Path],
    monkeypatch: pytest.MonkeyPatch,
    plays: FakePlays,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api, inventory = cluster
    assert _invoke("cluster.reconfigure", "-i", str(inventory), "--yes") == 0
    out = capsys.readouterr().out
    assert "apiServer.extraArgs.v" in out and "kubelet.maxPods" in out
    assert plays.steps() == [("control-plane", "cp1"), ("node", "cp1"), ("node", "w1")]
    control_plane = plays.calls[1][2]
    assert control_plane["kubeprimer_reconfigure_phases"] == ["apiserver"]
    tokens = {values["kubeprimer_reconfigure_token"] for _, _, values in plays.calls[1:]}
    assert len(tokens) == 1
    cluster_config = data(api, "kubeadm-config", "ClusterConfiguration")
    assert {"name": "v", "value": "4"} in cluster_config["apiServer"]["extraArgs"]
    assert cluster_config["certificatesDir"] == "/etc/kubernetes/pki"
    kubelet = data(api, "kubelet-config", "kubelet")
    assert kubelet["maxPods"] == 150 and kubelet["clusterDNS"] == ["10.96.0.10"]
    assert not record.path(load(inventory)).exists()

    again = FakePlays(changed_wanted())
    monkeypatch.setattr(_common, "run_playbook", again)
    assert _invoke("cluster.reconfigure", "-i", str(inventory), "--yes") == 0
    assert "Nothing to reconfigure" in capsys.readouterr().out
    assert again.steps() == []


def test_a_stopped_run_is_finished_by_the_next_with_the_same_token(
    cluster: tuple[FakeKubeApi, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, inventory = cluster
    plays = FakePlays(changed_wanted(), fail="node:w1")
    monkeypatch.setattr(_common, "run_playbook", plays)
    assert _invoke("cluster.reconfigure", "-i", str(inventory), "--yes") == 1
    assert "run invoke cluster.reconfigure again" in capsys.readouterr().err
    kept = record.load(load(inventory))
    assert kept is not None and kept.phases == ["apiserver"] and kept.kubelet

    # The ConfigMaps already hold the new settings: only the record says what is owed.
    again = FakePlays(changed_wanted())
    monkeypatch.setattr(_common, "run_playbook", again)
    assert _invoke("cluster.reconfigure", "-i", str(inventory), "--yes") == 0
    assert "Finishing the cluster.reconfigure a stopped run began" in capsys.readouterr().out
    assert again.steps() == [("control-plane", "cp1"), ("node", "cp1"), ("node", "w1")]
    assert {v["kubeprimer_reconfigure_token"] for _, _, v in again.calls[1:]} == {kept.token}
    assert not record.path(load(inventory)).exists()


def test_a_node_that_does_not_come_back_ready_stops_the_run(
    cluster: tuple[FakeKubeApi, Path],
    plays: FakePlays,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api, inventory = cluster
    api.not_ready.add("cp1")
    code = _invoke("cluster.reconfigure", "-i", str(inventory), "--yes", "--ready-timeout", "1")
    assert code == 1
    assert "The node cp1 is not Ready" in capsys.readouterr().err
    assert ("node", "w1") not in plays.steps()
    assert record.path(load(inventory)).exists()


def test_a_corrupt_record_is_one_sentence(tmp_path: Path) -> None:
    from kubeprimer.errors import UserError

    inv = load(write_inventory(tmp_path, GROUPS))
    record.path(inv).parent.mkdir()
    record.path(inv).write_text("{")
    with pytest.raises(UserError, match=r"delete it and run cluster\.reconfigure again"):
        record.load(inv)


def test_plan_json_gives_the_difference_to_scripts_and_changes_nothing(
    cluster: tuple[FakeKubeApi, Path],
    plays: FakePlays,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api, inventory = cluster
    assert _invoke("cluster.plan", "-i", str(inventory), "--json") == 0
    said = json.loads(capsys.readouterr().out)
    assert said["changed"] == {"cp1": 2}
    found = {d["field"]: d for d in said["reconfigure"]["differences"]}
    assert found["apiServer.extraArgs.v"] == {
        "component": "kube-apiserver",
        "field": "apiServer.extraArgs.v",
        "host": None,
        "running": None,
        "wanted": "4",
    }
    assert found["kubelet.maxPods"]["wanted"] == 150
    assert said["reconfigure"]["pending"] is False and said["reconfigure"]["note"] is None
    assert plays.steps() == []
    assert not any(method != "GET" for method, _ in api.requests)


def test_plan_of_a_cluster_not_up_yet_notes_it_and_goes_on(
    tmp_path: Path, plays: FakePlays, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = write_inventory(tmp_path, GROUPS)
    assert _invoke("cluster.plan", "-i", str(inventory)) == 0
    assert "the cluster is not up yet" in capsys.readouterr().out
    assert [call[0] for call in plays.calls] == []
