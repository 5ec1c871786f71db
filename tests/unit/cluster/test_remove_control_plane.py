"""cluster.remove-node on a control plane, controller side, against doubles: the API
double (tests/doubles/fake_kube_api.py) for the drain and the Node, a clearly named test
double of the SSH probe for the stacked etcd membership, and a recording double of the
playbook run. And roles/api_endpoint rendered by Ansible with the removed control plane
excluded: it is no haproxy backend and no keepalived peer of the others.
The host steps themselves run on lab nodes in tests/integration/cluster/ and
tests/integration/etcd/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from doubles.fake_kube_api import FakeKubeApi
from invoke import Program

from kubeprimer.paths import ROLES
from kubeprimer.tasks import cluster_nodes, ns
from kubeprimer.upgrade import remote
from tests.programs import run_playbook
from tests.unit.cluster.test_remove_refusals import STACKED, fake_probe, write_inventory


def _run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, node: str, dead: set[str]
) -> dict[str, Any]:
    inventory = write_inventory(tmp_path, STACKED)
    api = FakeKubeApi()
    for name in ("cp1", "cp2", "cp3", "w1"):
        api.add_node(name, ready=name not in dead)
    api.add_pod("default", "web-1", node, {"app": "web"})
    runs: list[dict[str, Any]] = []

    def recorded_play(c: Any, playbook: str, inv: Any, **options: Any) -> None:
        runs.append({"playbook": playbook, **options})

    monkeypatch.setattr(remote, "run", fake_probe(["cp1", "cp2", "cp3"], dead=dead))
    monkeypatch.setattr(cluster_nodes, "play_on", recorded_play)
    with api.serve(tmp_path) as kubeconfig:
        Program(namespace=ns, name="invoke", binary="invoke").run(
            [
                "invoke",
                "cluster.remove-node",
                node,
                "--yes",
                "-i",
                str(inventory),
                "--kubeconfig",
                str(kubeconfig),
                "--drain-timeout",
                "5",
            ],
            exit=False,
        )
    assert len(runs) == 1
    return {
        "api": api,
        "run": runs[0],
        "record": yaml.safe_load((tmp_path / ".removed-nodes.yml").read_text()),
    }


def test_a_live_control_plane(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    done = _run(monkeypatch, tmp_path, "cp2", dead=set())
    api, run = done["api"], done["run"]
    assert [p for _, p in api.requests if p.endswith("/eviction")] == [
        "/api/v1/namespaces/default/pods/web-1/eviction"
    ]
    assert api.find("Node", "", "cp2") is None
    assert run["playbook"] == "remove_node.yml"
    assert run["limit"].split(",")[:2] == ["cp1", "cp3"] and run["limit"].endswith(",cp2")
    assert run["extravars"]["kubeprimer_remove_node"] == "cp2"
    assert run["extravars"]["kubeprimer_remove_etcd_via"] in {"cp1", "cp3"}
    assert done["record"]["cp2"]["roles"] == ["control plane", "etcd member"]


def test_a_dead_control_plane_is_not_touched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    done = _run(monkeypatch, tmp_path, "cp3", dead={"cp3"})
    api, run = done["api"], done["run"]
    # Not Ready: cordoned, not drained; its pod goes with the Node.
    assert not [p for _, p in api.requests if p.endswith("/eviction")]
    assert api.find("Node", "", "cp3") is None
    assert sorted(run["limit"].split(",")) == ["cp1", "cp2"]


def test_the_others_drop_the_removed_control_plane(tmp_path: Path) -> None:
    """haproxy.cfg and keepalived.conf of cp1 with cp2 excluded, as Ansible renders them."""
    inventory = write_inventory(tmp_path, STACKED)
    out = tmp_path / "out"
    play = [
        {
            "hosts": "cp1",
            "gather_facts": False,
            "connection": "local",
            "vars_files": [
                str(ROLES / "api_endpoint" / "defaults" / "main.yml"),
                str(ROLES / "api_endpoint" / "vars" / "main.yml"),
            ],
            "vars": {
                "__api_endpoint_iface": "eth0",
                "__api_endpoint_prefix": "24",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            },
            "tasks": [
                {
                    "name": "Render",
                    "ansible.builtin.template": {
                        "src": str(ROLES / "api_endpoint" / "templates") + "/{{ f }}",
                        "dest": f"{out}/" + "{{ f }}",
                        "mode": "0600",
                    },
                    "loop_control": {"loop_var": "f"},
                    "loop": ["haproxy.cfg.j2", "keepalived.conf.j2"],
                }
            ],
        }
    ]
    out.mkdir()
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    # As an extra var: the play's vars_files would win over its vars.
    excluded = json.dumps({"api_endpoint_excluded_hosts": ["cp2"]})
    done = run_playbook(["-i", str(inventory), str(tmp_path / "play.yml"), "-e", excluded])
    assert done.returncode == 0, done.stdout[-3000:]
    haproxy = (out / "haproxy.cfg.j2").read_text()
    keepalived = (out / "keepalived.conf.j2").read_text()
    assert "server cp1 192.0.2.11:6443" in haproxy and "server cp3 192.0.2.13:6443" in haproxy
    assert "cp2" not in haproxy and "192.0.2.12" not in haproxy + keepalived
    assert "192.0.2.13" in keepalived
