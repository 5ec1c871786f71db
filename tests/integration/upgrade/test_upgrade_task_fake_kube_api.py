"""invoke cluster.upgrade as users run it, against the Kubernetes API test double
(tests/doubles/fake_kube_api.py) over real HTTP: the plan and its JSON, every refusal
before the first change, a run killed with SIGKILL and resumed, and a node that never
comes back Ready. The host steps go to a recording test double of the playbook runner
(upgrade_task_driver.py); the playbooks themselves are tested with their roles.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from doubles.fake_kube_api import FakeKubeApi

from kubeprimer.addons import record, updates
from kubeprimer.paths import ROOT
from tests.programs import run_program

pytestmark = pytest.mark.integration

DRIVER = Path(__file__).with_name("upgrade_task_driver.py")
NODES = ("cp1", "w1", "w2", "w3")
RUNNING = "v1.37.0"  # what the double's API server reports; the pin is 1.37.1


class Api(FakeKubeApi):
    """The double, plus a kubelet that does not come back after its node's upgrade:
    a node in ``broken`` turns NotReady once it is cordoned."""

    broken: set[str]

    def merge_patch(
        self, kind: Any, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        if (
            kind.kind == "Node"
            and name in self.broken
            and (patch.get("spec") or {}).get("unschedulable")
        ):
            self.not_ready.add(name)
        return super().merge_patch(kind, namespace, name, patch)


@dataclass
class Setup:
    api: Api
    kubeconfig: Path
    inventory: Path
    runs: Path
    plays: Path

    def env(self, kill_at: str = "", kubeadm_refuses: str = "") -> dict[str, str]:
        return {
            "UPGRADE_KUBEADM_REFUSES": kubeadm_refuses,
            "INVOKE_KUBEPRIMER_RUNS_DIR": str(self.runs),
            "UPGRADE_PLAYS": str(self.plays),
            "UPGRADE_KILL_AT": kill_at,
            "COLUMNS": "200",
        }

    def task(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """The real `kubeprimer cluster.upgrade`, no terminal."""
        return run_program(
            "kubeprimer",
            "cluster.upgrade",
            "-i",
            str(self.inventory),
            "--kubeconfig",
            str(self.kubeconfig),
            *argv,
            env=self.env(),
        )

    def run(
        self, *argv: str, kill_at: str = "", kubeadm_refuses: str = ""
    ) -> subprocess.CompletedProcess[str]:
        """The task with the recording playbook runner (upgrade_task_driver.py)."""
        return subprocess.run(
            [
                sys.executable,
                str(DRIVER),
                "-i",
                str(self.inventory),
                "--kubeconfig",
                str(self.kubeconfig),
                "--yes",
                "--no-backup",
                *argv,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **self.env(kill_at, kubeadm_refuses)},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.api.requests if m != "GET"]

    def cordons(self) -> Counter[str]:
        return Counter(p.rsplit("/", 1)[1] for m, p in self.writes() if "/nodes/" in p)

    def evictions(self) -> Counter[str]:
        return Counter(p.split("/")[-2] for m, p in self.writes() if p.endswith("/eviction"))

    def plays_run(self) -> list[dict[str, Any]]:
        if not self.plays.exists():
            return []
        return [json.loads(line) for line in self.plays.read_text().splitlines()]

    def record(self) -> dict[str, Any]:
        (path,) = (self.runs / "upgrade").glob("*.json")
        return dict(json.loads(path.read_text()))


def _node(api: Api, name: str) -> None:
    api.add_node(name)
    status = api.objects[("", "nodes", "", name)]["status"]
    status["nodeInfo"] = {
        "kubeletVersion": RUNNING,
        "containerRuntimeVersion": "containerd://2.3.5",
        "osImage": "Debian GNU/Linux 12 (bookworm)",
    }


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    api = Api()
    api.broken = set()
    for name in NODES:
        _node(api, name)
        if name != "cp1":
            api.add_pod("apps", f"web-{name}", name, labels={"app": f"web-{name}"})
    etcd = api.add_pod(
        "kube-system",
        "etcd-cp1",
        "cp1",
        labels={"component": "etcd", "tier": "control-plane"},
        owner="",
        mirror=True,
    )
    api.objects[("", "pods", "kube-system", etcd["metadata"]["name"])]["status"]["conditions"] = [
        {"type": "Ready", "status": "True"}
    ]
    inventory = tmp_path / "inventory" / "hosts.yml"
    inventory.parent.mkdir()
    hosts = {name: {"ansible_host": f"10.255.0.{i + 11}"} for i, name in enumerate(NODES)}
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": hosts,
                    "children": {
                        "kube_control_plane": {"hosts": {"cp1": None}},
                        "kube_node": {"hosts": {"w1": None, "w2": None, "w3": None}},
                        "etcd": {"hosts": {"cp1": None}},
                    },
                }
            }
        )
    )
    with api.serve(tmp_path) as kubeconfig:
        yield Setup(api, kubeconfig, inventory, tmp_path / "runs", tmp_path / "plays.jsonl")


def test_plan_lists_every_change_in_run_order_and_changes_nothing(setup: Setup) -> None:
    done = setup.task("--plan", "--max-unavailable", "2")
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    header, *rows = [
        re.split(r"\s{2,}", line.strip()) for line in done.stdout.splitlines()[1:] if line.strip()
    ][:6]
    assert header == ["#", "STEP", "COMPONENT", "HOST", "FROM", "TO", "ACTION", "STATUS"]
    assert [(r[1], r[3], r[4], r[5]) for r in rows] == [
        ("apply", "cp1", RUNNING, "1.37.1"),
        ("node", "cp1", RUNNING, "1.37.1"),
        ("node (batch 1)", "w1", RUNNING, "1.37.1"),
        ("node (batch 1)", "w2", RUNNING, "1.37.1"),
        ("node (batch 2)", "w3", RUNNING, "1.37.1"),
    ]
    assert rows[0][6] == "kubeadm upgrade apply"
    assert {r[7] for r in rows} == {"pending"}
    assert "Run invoke cluster.upgrade to carry these steps out." in done.stdout
    assert setup.writes() == []
    assert not (setup.runs / "upgrade").exists()


def test_plan_json_gives_the_same_steps_to_scripts(setup: Setup) -> None:
    name, pinned = sorted(updates.pins().items())[0]
    configmaps = setup.api.resolve("/api/v1/configmaps")[0]
    setup.api.create(configmaps, record.NAMESPACE, record.body(name, "0.0.1-old", []))
    done = setup.task("--plan", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["nothing_to_do"] is False
    assert data["targets"]["kubernetes"] == "1.37.1"
    steps = [(s["step"], s["host"], s["from"], s["to"], s["status"]) for s in data["steps"]]
    assert data["steps"][-1]["component"] == f"addon {name}"
    assert steps == [
        ("apply", "cp1", RUNNING, "1.37.1", "pending"),
        ("node", "cp1", RUNNING, "1.37.1", "pending"),
        ("node", "w1", RUNNING, "1.37.1", "pending"),
        ("node", "w2", RUNNING, "1.37.1", "pending"),
        ("node", "w3", RUNNING, "1.37.1", "pending"),
        ("addons", None, "0.0.1-old", pinned, "run addons.install"),
    ]
    assert [s["batch"] for s in data["steps"]] == [None, None, 1, 2, 3, None]
    assert setup.writes() == []


def test_nothing_to_do_says_so(setup: Setup) -> None:
    (setup.inventory.parent / "group_vars").mkdir()
    (setup.inventory.parent / "group_vars" / "all.yml").write_text("kube_version: 1.37.0\n")
    done = setup.task("--plan")
    assert done.returncode == 0, done.stderr
    assert "Nothing to upgrade: the cluster runs the inventory's versions." in done.stdout


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        ((), "needs confirmation: run it in a terminal, or add --yes"),
        (("--yes",), "backups are not configured"),
        (("--yes", "--no-backup", "--max-unavailable", "0"), "--max-unavailable is 0"),
        (("--yes", "--no-backup", "--drain-timeout", "0"), "--drain-timeout is 0"),
        (("--json", "--yes"), "--json prints the plan for scripts"),
    ],
    ids=["no-terminal-no-yes", "no-backup-target", "max-unavailable-0", "drain-0", "json-run"],
)
def test_bad_input_exits_2_before_anything(
    setup: Setup, argv: tuple[str, ...], sentence: str
) -> None:
    done = setup.task(*argv)
    assert done.returncode == 2, done.stdout + done.stderr
    assert sentence in done.stderr
    assert "Traceback" not in done.stderr
    assert setup.api.requests == []  # the cluster was not even asked
    assert not setup.runs.exists() or not (setup.runs / "upgrade").exists()


def test_blocking_budgets_and_unready_nodes_are_all_refused_before_any_cordon(
    setup: Setup,
) -> None:
    setup.api.add_budget("apps", "web-w1", {"app": "web-w1"}, allowed=0)
    setup.api.add_budget("apps", "web-w3", {"app": "web-w3"}, allowed=0)
    setup.api.add_budget("apps", "web-w2", {"app": "web-w2"}, allowed=1)
    setup.api.set_ready("cp1", False)
    done = setup.run()
    assert done.returncode == 2, done.stdout + done.stderr
    assert "apps/web-w1: disruptionsAllowed 0, covers apps/web-w1" in done.stderr
    assert "apps/web-w3: disruptionsAllowed 0, covers apps/web-w3" in done.stderr
    assert "web-w2:" not in done.stderr
    assert "node cp1 is not Ready" in done.stderr
    assert setup.writes() == []
    assert setup.plays_run() == []


def test_kubeadm_upgrade_plan_disagreeing_stops_the_run_before_any_change(setup: Setup) -> None:
    said = "the cluster's kubeadm-config names an unknown feature gate FooBar"
    done = setup.run(kubeadm_refuses=said)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"kubeadm upgrade plan 1.37.1 on cp1 refused the upgrade ([ERROR] {said})" in done.stderr
    assert setup.writes() == [] and setup.plays_run() == []


def test_no_backup_warns(setup: Setup) -> None:
    done = setup.run("--max-unavailable", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning: --no-backup: no etcd backup is taken" in done.stdout


def test_a_run_killed_midway_resumes_without_draining_finished_nodes_again(
    setup: Setup,
) -> None:
    killed = setup.run(kill_at="w2")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert [(p["step"], p["limit"]) for p in setup.plays_run()] == [
        ("apply", "cp1"),
        ("node", "cp1"),
        ("node", "w1"),
        ("node", "w2"),
    ]
    record = setup.record()
    assert record["done"] == ["apply", "node:cp1", "node:w1"]
    assert record["begun"] == ["node:w2"]
    plan = setup.task("--plan", "--json")
    status = {(s["step"], s["host"]): s["status"] for s in json.loads(plan.stdout)["steps"]}
    assert status == {
        ("apply", "cp1"): "done",
        ("node", "cp1"): "done",
        ("node", "w1"): "done",
        ("node", "w2"): "pending",
        ("node", "w3"): "pending",
    }
    first_cordons, first_evictions = setup.cordons(), setup.evictions()
    assert first_cordons == {"cp1": 2, "w1": 2, "w2": 1}  # cordon + uncordon; w2 cordoned
    setup.plays.unlink()

    resumed = setup.run()
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert [(p["step"], p["limit"]) for p in setup.plays_run()] == [("node", "w2"), ("node", "w3")]
    cordons = setup.cordons() - first_cordons
    assert cordons == {"w2": 1, "w3": 2}  # w2 was still cordoned: only its uncordon
    evictions = setup.evictions() - first_evictions
    assert set(evictions) <= {"web-w3"}  # web-w2 went in the first run's drain
    assert "cp1" not in cordons and "w1" not in cordons
    node = setup.api.find("Node", "", "w2")
    assert node is not None and not node["spec"].get("unschedulable")
    assert setup.record()["finished"] is True
    assert "The upgrade is complete" in resumed.stdout


def test_a_node_that_never_becomes_ready_stops_the_run_and_a_later_run_resumes_there(
    setup: Setup,
) -> None:
    setup.api.broken.add("w2")
    stopped = setup.run("--ready-timeout", "1")
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "The node w2 is not Ready after 1 s" in stopped.stderr
    assert "stopped in its node step on w2" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert [p["limit"] for p in setup.plays_run()] == ["cp1", "cp1", "w1", "w2"]
    assert setup.record()["begun"] == ["node:w2"]

    # The kubelet is fixed; w2 is still cordoned and its upgrade not recorded.
    setup.api.broken.clear()
    setup.api.not_ready.clear()
    setup.api.set_ready("w2", True)
    before = setup.cordons()
    setup.plays.unlink()
    resumed = setup.run("--ready-timeout", "5")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert [(p["step"], p["limit"]) for p in setup.plays_run()] == [("node", "w2"), ("node", "w3")]
    assert set(setup.cordons() - before) == {"w2", "w3"}
    assert setup.record()["finished"] is True
