"""cluster.check's ``ctr`` column: Kubernetes nodes that are containers
(kube_node_in_container) need a readable /dev/kmsg, writable cgroups and the container
settings of roles/kubeadm in effect; bare-metal hosts are not asked for any of it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.inventory import Inventory, load
from kubeprimer.preflight import checks, container_node
from kubeprimer.preflight.checks import Status
from tests.unit.preflight.test_checks import BASE

NSPAWN: dict[str, Any] = copy.deepcopy(BASE) | {
    "container": "systemd-nspawn",
    "kmsg": "ok",
    "cgroup": {"v2": False, "v1_controllers": ["cpu", "memory", "pids"], "read_only": []},
}


def lab(tmp_path: Path, **group_vars: Any) -> Inventory:
    (tmp_path / "group_vars").mkdir(exist_ok=True)
    (tmp_path / "group_vars" / "all.yml").write_text(
        yaml.safe_dump({"kube_node_in_container": True, **group_vars})
    )
    (tmp_path / "hosts.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "10.1.0.11"}}},
                        "kube_node": {"hosts": {"w1": {"ansible_host": "10.1.0.21"}}},
                        "etcd": {"hosts": {"e1": {"ansible_host": "10.1.0.31"}}},
                    }
                }
            }
        )
    )
    return load(tmp_path / "hosts.yml")


def ctr(inv: Inventory, host: str = "w1", **changes: Any) -> checks.Outcome:
    facts = copy.deepcopy(NSPAWN) | changes
    return container_node.check(inv.hosts[host], facts, {host: facts}, inv)


def test_healthy_lab_node_passes(tmp_path: Path) -> None:
    outcome = ctr(lab(tmp_path))
    assert outcome.status is Status.PASS
    assert outcome.detail == "systemd-nspawn: /dev/kmsg, writable cgroups, container settings"


def test_every_check_runs_it_in_the_table(tmp_path: Path) -> None:
    inv = lab(tmp_path)
    facts = {name: copy.deepcopy(NSPAWN) | {"hostname": name} for name in inv.hosts}
    assert checks.evaluate(inv, facts)["w1"]["ctr"].status is Status.PASS


@pytest.mark.parametrize(
    ("state", "detail"),
    [
        ("missing", "/dev/kmsg missing"),
        ("not a character device", "/dev/kmsg not a character device"),
        ("unreadable (Permission denied)", "/dev/kmsg unreadable (Permission denied)"),
    ],
)
def test_node_without_a_readable_kmsg_fails_with_its_fix(
    tmp_path: Path, state: str, detail: str
) -> None:
    outcome = ctr(lab(tmp_path), kmsg=state)
    assert outcome.status is Status.FAIL
    assert outcome.detail == detail
    assert outcome.fix.startswith("Give the node the host's /dev/kmsg, which kubelet reads")


def test_read_only_cgroups_fail(tmp_path: Path) -> None:
    cgroup = {**NSPAWN["cgroup"], "read_only": ["/sys/fs/cgroup/memory"]}
    outcome = ctr(lab(tmp_path), cgroup=cgroup)
    assert outcome.status is Status.FAIL
    assert outcome.detail == "cgroups read-only: /sys/fs/cgroup/memory"
    assert "read-write" in outcome.fix


def test_inventory_that_undoes_a_required_setting_fails(tmp_path: Path) -> None:
    inv = lab(
        tmp_path,
        kubelet_extra_config={"protectKernelDefaults": True},
        kubeadm_container_proxy_config={"conntrack": {"maxPerCore": 32768}},
    )
    outcome = ctr(inv)
    assert outcome.status is Status.FAIL
    assert outcome.detail == (
        "kubelet protectKernelDefaults is True, not False; "
        "kube-proxy conntrack.maxPerCore is 32768, not 0"
    )
    assert "kubelet_extra_config" in outcome.fix


def test_relaxed_disk_thresholds_changed_by_the_inventory_are_noted(tmp_path: Path) -> None:
    inv = lab(tmp_path, kubelet_extra_config={"evictionHard": {"nodefs.available": "10%"}})
    outcome = ctr(inv)
    assert outcome.status is Status.NOTE
    assert "kubelet evictionHard.nodefs.available is '10%', not '0%'" in outcome.detail


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    inv = lab(tmp_path, kubelet_extra_config={"failSwapOn": True})
    cgroup = {**NSPAWN["cgroup"], "read_only": ["/sys/fs/cgroup/cpu"]}
    outcome = ctr(inv, kmsg="missing", cgroup=cgroup)
    assert outcome.status is Status.FAIL
    assert outcome.detail.count(";") == 2
    assert outcome.fix.count(". ") >= 2


def test_bare_metal_is_not_asked(tmp_path: Path) -> None:
    inv = lab(tmp_path)
    bare = copy.deepcopy(BASE)
    del bare["kmsg"]  # never looked at on bare metal
    host = inv.hosts["w1"]
    plain = type(host)(host.name, {**host.vars, "kube_node_in_container": False}, host.groups)
    outcome = container_node.check(plain, bare, {"w1": bare}, inv)
    assert outcome == checks.ok("not a container")


def test_flag_on_a_host_that_is_not_a_container_fails(tmp_path: Path) -> None:
    outcome = ctr(lab(tmp_path), container="none")
    assert outcome.status is Status.FAIL
    assert outcome.fix.startswith("Remove kube_node_in_container for this host")


def test_container_without_the_flag_is_noted(tmp_path: Path) -> None:
    inv = lab(tmp_path, kube_node_in_container=False)
    outcome = ctr(inv, kmsg="missing")
    assert outcome.status is Status.NOTE
    assert "without kube_node_in_container" in outcome.detail


def test_flag_that_is_not_a_bool_fails(tmp_path: Path) -> None:
    outcome = ctr(lab(tmp_path, kube_node_in_container="sometimes"))
    assert outcome.status is Status.FAIL
    assert outcome.fix == "Set kube_node_in_container to true or false for this host."


@pytest.mark.parametrize("value", ["true", "yes", "True", 1])
def test_flag_is_read_as_ansible_reads_it(tmp_path: Path, value: Any) -> None:
    assert ctr(lab(tmp_path, kube_node_in_container=value)).status is Status.PASS


def test_etcd_only_hosts_run_no_kubelet(tmp_path: Path) -> None:
    assert ctr(lab(tmp_path), host="e1", kmsg="missing").status is Status.PASS


def test_required_settings_are_the_role_defaults() -> None:
    defaults = container_node.role_defaults()
    kubelet = defaults[container_node.KUBELET]
    assert (kubelet["failSwapOn"], kubelet["protectKernelDefaults"]) == (False, False)
    assert defaults[container_node.PROXY]["conntrack"]["maxPerCore"] == 0


def test_probe_reports_kmsg_and_read_only_cgroups() -> None:
    done = subprocess.run(
        [sys.executable, str(Path(checks.__file__).with_name("probe.py"))],
        capture_output=True,
        text=True,
        check=True,
    )
    facts = json.loads(done.stdout)
    assert facts["kmsg"] in ("ok", "missing", "not a character device") or facts["kmsg"].startswith(
        "unreadable ("
    )
    assert isinstance(facts["cgroup"]["read_only"], list)


def test_swap_of_a_container_node_is_the_hosts_and_stays(tmp_path: Path) -> None:
    inv = lab(tmp_path)
    facts = copy.deepcopy(NSPAWN) | {"swaps": ["/swapfile file 1024 0 -2"]}
    outcome = checks.check_swap(inv.hosts["w1"], facts, {"w1": facts}, inv)
    assert outcome == checks.note("the host's 1 swap device(s); kubelet tolerates them here")
