"""invoke cluster.reconfigure on lab nodes (real systemd, over SSH): a control plane and a
worker with tests/doubles/fake-kubeadm as kubeadm, tests/doubles/fake-kubelet.service
as kubelet, and tests/doubles/fake_kube_api on the lab bridge (over HTTPS) holding the
kubeadm-config and kubelet-config ConfigMaps and the Nodes.

The cluster was made from an inventory (its ConfigMaps and manifests as kubeadm init
left them from the role's own rendering); the inventory then sets a kube-scheduler flag
and a kubelet setting. cluster.reconfigure names both, updates both ConfigMaps (keeping
kubeadm's own fields), regenerates the scheduler's manifest only with `kubeadm init
phase control-plane scheduler`, and on each node runs `kubeadm upgrade node phase
kubelet-config` (which reads the ConfigMap from the API server) and restarts kubelet,
whose configuration ends at 0600 with the new setting. A second run says there is
nothing to do and calls kubeadm no more; the control-plane step run again with the same
token changes nothing. (The API server's own restart path, for its flags and the audit
policy, is tests/integration/cluster/test_kubeadm_apiserver_rolling_restart_fake_crictl.py's.)
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.cluster import reconfigure as steps
from kubeprimer.cluster.reconfigure_read import rendered
from kubeprimer.paths import PLAYBOOKS, ROOT
from tests.doubles.fake_kube_api import FakeKubeApi
from tests.integration.conftest import RunningLab
from tests.programs import run_playbook, run_program
from tests.unit.cluster.test_reconfigure_task import data as configmap

from .conftest import recap
from .test_kubelet_serving_lab_nodes import FAKE_KUBELET, STARTS, node_kubeconfig, put
from .test_upgrade_steps_fake_kubeadm_lab_nodes import calls
from .tls_api import serve_tls

pytestmark = pytest.mark.integration

FAKE_KUBEADM = ROOT / "tests" / "doubles" / "fake-kubeadm"
KUBEADM = "/usr/local/sbin/fake-kubeadm"
CONFIG = "/var/lib/kubelet/config.yaml"
LEFTOVERS = (
    "/etc/kubernetes",
    "/var/lib/kubelet",
    "/var/lib/fake-kubeadm",
    "/var/lib/etcd",
    KUBEADM,
    "/etc/systemd/system/kubelet.service",
    STARTS,
)
# What kubeadm adds to the KubeletConfiguration it uploads on its own.
KUBEADM_KUBELET = {"clusterDNS": ["10.96.0.10"], "staticPodPath": "/etc/kubernetes/manifests"}


@pytest.fixture
def pair(lab: RunningLab) -> Iterator[tuple[str, str]]:
    groups = yaml.safe_load(lab.inventory.read_text())["all"]["children"]
    control_plane = next(iter(groups["kube_control_plane"]["hosts"]))
    workers = [n for n in groups["kube_node"]["hosts"] if n != control_plane]
    if not workers:
        pytest.skip("the session lab has no worker")
    found = (control_plane, workers[0])
    try:
        yield found
    finally:
        for node in found:
            lab.ssh(node, "systemctl stop kubelet", check=False)
            lab.ssh(node, f"rm -rf {' '.join(LEFTOVERS)} && systemctl daemon-reload", check=False)


def write_inventory(lab: RunningLab, folder: Path, pair: tuple[str, str], **settings: Any) -> Path:
    control_plane, worker = pair
    data = {
        "all": {
            "hosts": {n: {"ansible_host": lab.address(n)} for n in pair},
            "children": {
                "kube_control_plane": {"hosts": {control_plane: None}},
                "kube_node": {"hosts": {worker: None}},
                "etcd": {"hosts": {control_plane: None}},
            },
        }
    }
    found = yaml.safe_load((lab.inventory.parent / "group_vars" / "all.yml").read_text())
    (folder / "group_vars").mkdir(parents=True, exist_ok=True)
    (folder / "group_vars" / "all.yml").write_text(
        yaml.safe_dump({**found, "kubeadm_binary": KUBEADM, **settings})
    )
    (folder / "hosts.yml").write_text(yaml.safe_dump(data))
    (folder / "known_hosts").write_text((lab.inventory.parent / "known_hosts").read_text())
    return folder / "hosts.yml"


def read_step(inventory: Path, control_plane: str, folder: Path) -> dict[str, Any]:
    """What the inventory renders, through playbooks/reconfigure.yml's read step."""
    values = {"kubeprimer_reconfigure_step": "read", "kubeprimer_reconfigure_dir": str(folder)}
    done = run_playbook(
        ["-i", str(inventory), str(PLAYBOOKS / "reconfigure.yml"), "-e", json.dumps(values)]
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    return rendered(folder, [control_plane])


def made_by_kubeadm(
    lab: RunningLab, api: FakeKubeApi, pair: tuple[str, str], kubeconfig: Path, made: dict[str, Any]
) -> None:
    """What kubeadm init/join and cluster.up leave, from the inventory's rendering ``made``."""
    control_plane = pair[0]
    configmaps = api.resolve("/api/v1/namespaces/kube-system/configmaps")[0]
    kubelet = steps.merged(KUBEADM_KUBELET, made["kubelet"])
    for name, key, document in (
        ("kubeadm-config", "ClusterConfiguration", made["cluster"]),
        ("kubelet-config", "kubelet", kubelet),
    ):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
        api.create(configmaps, "kube-system", {**body, "data": {key: yaml.safe_dump(document)}})
    conf = node_kubeconfig(kubeconfig)
    for node in pair:
        api.add_node(node)
        put(lab, node, KUBEADM, FAKE_KUBEADM.read_bytes(), "0755")
        put(lab, node, "/etc/kubernetes/kubelet.conf", conf, "0600")
        put(lab, node, CONFIG, yaml.safe_dump(kubelet).encode(), "0600")
        lab.ssh(node, "install -d -m 0700 /etc/kubernetes/kubeadm/patches")
        put(lab, node, "/etc/systemd/system/kubelet.service", FAKE_KUBELET.read_bytes(), "0644")
        lab.ssh(node, f"rm -f {STARTS} && systemctl daemon-reload && systemctl start kubelet")
    put(lab, control_plane, "/etc/kubernetes/admin.conf", conf, "0600")
    policy = yaml.safe_dump(made["audit"]).encode()
    put(lab, control_plane, "/etc/kubernetes/audit/policy.yaml", policy, "0600")
    init = yaml.safe_dump_all(
        [{"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "InitConfiguration"}, made["cluster"]]
    )
    put(lab, control_plane, "/etc/kubernetes/kubeadm/init.yaml", init.encode(), "0600")
    lab.ssh(
        control_plane,
        f"{KUBEADM} init phase control-plane all --config=/etc/kubernetes/kubeadm/init.yaml",
    )


def reconfigure(inventory: Path) -> subprocess.CompletedProcess[str]:
    return run_program("invoke", "cluster.reconfigure", "-i", str(inventory), "--yes", timeout=900)


def sha(lab: RunningLab, node: str, path: str) -> str:
    return hashlib.sha256(lab.ssh(node, f"cat {path}").stdout.encode()).hexdigest()


def test_scheduler_flag_and_kubelet_setting_reach_the_running_cluster_once(
    lab: RunningLab, pair: tuple[str, str], tmp_path: Path
) -> None:
    control_plane, worker = pair
    api = FakeKubeApi()
    with serve_tls(api, tmp_path, address=str(lab.status.plan.gateway)) as kubeconfig:
        settings = {"kubeadm_admin_kubeconfig": str(kubeconfig)}
        before = write_inventory(lab, tmp_path / "before", pair, **settings)
        with tempfile.TemporaryDirectory() as folder:
            made_by_kubeadm(
                lab, api, pair, kubeconfig, read_step(before, control_plane, Path(folder))
            )
        apiserver = sha(lab, control_plane, "/etc/kubernetes/manifests/kube-apiserver.yaml")

        after = write_inventory(
            lab,
            tmp_path / "after",
            pair,
            kube_scheduler_extra_args={"v": "3"},
            kubelet_extra_config={"maxPods": 150},
            **settings,
        )
        done = reconfigure(after)
        assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
        assert "scheduler.extraArgs.v" in done.stdout and "kubelet.maxPods" in done.stdout

        cluster = configmap(api, "kubeadm-config", "ClusterConfiguration")
        assert {"name": "v", "value": "3"} in cluster["scheduler"]["extraArgs"]
        kubelet = configmap(api, "kubelet-config", "kubelet")
        assert kubelet["maxPods"] == 150 and kubelet["clusterDNS"] == ["10.96.0.10"]

        phases = [c for c in calls(lab, control_plane) if c["argv"][:2] == ["init", "phase"]]
        assert [c["argv"][:4] for c in phases[1:]] == [
            ["init", "phase", "control-plane", "scheduler"]
        ]
        assert phases[-1]["config"]["mode"] == "0600"
        scheduler = lab.ssh(
            control_plane, "cat /etc/kubernetes/manifests/kube-scheduler.yaml"
        ).stdout
        assert "- --v=3" in scheduler
        assert sha(lab, control_plane, "/etc/kubernetes/manifests/kube-apiserver.yaml") == apiserver
        for node in pair:
            upgrades = [c["argv"] for c in calls(lab, node) if c["argv"][:1] == ["upgrade"]]
            assert upgrades == [
                [
                    "upgrade",
                    "node",
                    "phase",
                    "kubelet-config",
                    "--patches=/etc/kubernetes/kubeadm/patches",
                ]
            ]
            assert lab.ssh(node, f"stat -c %a {CONFIG}").stdout.strip() == "600"
            config = yaml.safe_load(lab.ssh(node, f"cat {CONFIG}").stdout)
            assert config["maxPods"] == 150 and config["clusterDNS"] == ["10.96.0.10"]
            assert config["readOnlyPort"] == 0
            assert lab.ssh(node, f"cat {STARTS}").stdout.splitlines() == ["started"] * 2

        again = reconfigure(after)
        assert again.returncode == 0, (again.stdout + again.stderr)[-6000:]
        assert "Nothing to reconfigure" in again.stdout
        assert len(calls(lab, control_plane)) == len(phases) + 1
        assert len(calls(lab, worker)) == 1

        token = lab.ssh(
            control_plane, "cat /etc/kubernetes/kubeadm/reconfigure-control-plane.done"
        ).stdout.strip()
        values = {
            "kubeprimer_reconfigure_step": "control-plane",
            "kubeprimer_reconfigure_phases": ["scheduler"],
            "kubeprimer_reconfigure_token": token,
        }
        replay = run_playbook(
            ["-i", str(after), str(PLAYBOOKS / "reconfigure.yml"), "-e", json.dumps(values)]
        )
        assert replay.returncode == 0, (replay.stdout + replay.stderr)[-6000:]
        assert recap(replay.stdout)[control_plane]["changed"] == 0, replay.stdout[-6000:]
