"""The reconfigure comparison over configurations the kubeadm role rendered with Ansible
(tests/unit/cluster/conftest.py): the "running" side is another scenario's render, as
kubeadm would have uploaded it (with the fields kubeadm fills in itself added), so the
differences found are the ones the two inventories really make."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.cluster import reconfigure as steps
from kubeprimer.cluster import reconfigure_diff as diff
from kubeprimer.cluster.reconfigure_read import differences
from kubeprimer.output import plain_lines
from tests.unit.cluster.conftest import by_kind

# Fields kubeadm writes into its ConfigMaps on its own: never a difference.
KUBEADM_CLUSTER_DEFAULTS = {"certificatesDir": "/etc/kubernetes/pki", "dns": {}, "proxy": {}}
KUBEADM_KUBELET_DEFAULTS = {
    "clusterDNS": ["10.96.0.10"],
    "clusterDomain": "cluster.local",
    "staticPodPath": "/etc/kubernetes/manifests",
    "authentication": {"webhook": {"cacheTTL": "0s"}},
}


def documents(rendered: dict[str, Path], scenario: str) -> dict[str, Any]:
    kinds = by_kind(rendered[scenario] / "cp1" / "init.yaml")
    audit = yaml.safe_load((rendered[scenario] / "cp1" / "audit-policy.yaml").read_text())
    return {
        "cluster": kinds["ClusterConfiguration"],
        "kubelet": kinds["KubeletConfiguration"],
        "audit": audit,
    }


def as_uploaded(rendered: dict[str, Path], scenario: str) -> dict[str, dict[str, Any]]:
    """The ConfigMaps' contents after kubeadm init with ``scenario``'s inventory."""
    found = documents(rendered, scenario)
    cluster = {**copy.deepcopy(found["cluster"]), **KUBEADM_CLUSTER_DEFAULTS}
    kubelet = steps.merged(KUBEADM_KUBELET_DEFAULTS, found["kubelet"])
    return {"kubeadm-config": cluster, "kubelet-config": kubelet}


def wanted(rendered: dict[str, Path], scenario: str, audits: dict[str, Any]) -> dict[str, Any]:
    return {**documents(rendered, scenario), "running_audit": audits}


def test_a_cluster_made_from_the_same_inventory_has_no_difference(
    rendered: dict[str, Path],
) -> None:
    for scenario in ("single", "ha", "lab"):
        audit = documents(rendered, scenario)["audit"]
        found = differences(
            as_uploaded(rendered, scenario), wanted(rendered, scenario, {"cp1": audit})
        )
        assert found == [], scenario


def test_changed_api_server_flags_are_named_field_by_field(rendered: dict[str, Path]) -> None:
    # The cluster was made without the HA inventory's kube_apiserver_extra_args; it now sets them.
    audit = documents(rendered, "ha")["audit"]
    found = differences(as_uploaded(rendered, "external"), wanted(rendered, "ha", {"cp1": audit}))
    by_field = {d.field: d for d in found}
    # (An --oidc-* flag may also take the role's own authentication settings away.)
    assert {
        "apiServer.extraArgs.audit-log-maxage",
        "apiServer.extraArgs.oidc-issuer-url",
    } <= set(by_field)
    assert by_field["apiServer.extraArgs.audit-log-maxage"].running == "30"
    assert by_field["apiServer.extraArgs.audit-log-maxage"].wanted == "7"
    assert by_field["apiServer.extraArgs.oidc-issuer-url"].running is None
    assert {d.component for d in found} == {"kube-apiserver"}
    assert diff.phases(found) == ["apiserver"]
    assert not diff.kubelet_changed(found)
    # And back: a flag the inventory no longer sets is a difference too.
    back = differences(as_uploaded(rendered, "ha"), wanted(rendered, "external", {"cp1": audit}))
    assert {d.field: d.wanted for d in back}["apiServer.extraArgs.oidc-issuer-url"] is None


def test_changed_kubelet_settings_compare_only_what_the_inventory_renders(
    rendered: dict[str, Path],
) -> None:
    # The lab inventory (container nodes) adds kubelet settings to the single one.
    audit = documents(rendered, "lab")["audit"]
    found = differences(as_uploaded(rendered, "single"), wanted(rendered, "lab", {"cp1": audit}))
    fields = {d.field: d for d in found}
    assert {d.component for d in found} == {"kubelet"}
    assert fields["kubelet.failSwapOn"].running is None
    assert fields["kubelet.failSwapOn"].wanted is False
    # A map the cluster does not have at all is one difference, the whole map wanted.
    assert fields["kubelet.evictionHard"].running is None
    assert fields["kubelet.evictionHard"].wanted["nodefs.available"] == "0%"
    # kubeadm's own fields (clusterDNS...) are not differences, nor the ones that agree.
    assert not any(f.startswith(("kubelet.clusterDNS", "kubelet.cgroupDriver")) for f in fields)
    assert diff.kubelet_changed(found) and diff.phases(found) == []


def test_the_audit_policy_compares_as_data_per_control_plane(rendered: dict[str, Path]) -> None:
    want = documents(rendered, "ha")
    policy = want["audit"]
    reformatted = yaml.safe_load(yaml.safe_dump(policy, default_flow_style=True))
    older = copy.deepcopy(policy)
    older["rules"] = older["rules"][:-1]
    audits = {"cp1": reformatted, "cp2": older, "cp3": None}
    found = differences(as_uploaded(rendered, "ha"), wanted(rendered, "ha", audits))
    assert [(d.host, d.field) for d in found] == [
        ("cp2", diff.AUDIT_FIELD),
        ("cp3", diff.AUDIT_FIELD),
    ]
    assert diff.audit_hosts(found) == ["cp2", "cp3"]
    assert diff.phases(found) == []  # a policy change restarts kube-apiserver, no phase
    lines = plain_lines(diff.listing(found))
    assert "(not set)" in lines[-1] and "rules" in lines[-2]


def test_v1beta3_maps_and_v1beta4_lists_of_flags_compare_as_the_same_data() -> None:
    running = {"apiServer": {"extraArgs": {"profiling": "false", "v": "2"}}}
    wanted_v4 = {
        "apiServer": {
            "extraArgs": [{"name": "profiling", "value": "false"}, {"name": "v", "value": "2"}]
        }
    }
    assert diff.cluster_configuration(running, wanted_v4) == []
    wanted_v4["apiServer"]["extraArgs"][1]["value"] = "4"
    [changed] = diff.cluster_configuration(running, wanted_v4)
    assert (changed.field, changed.running, changed.wanted) == ("apiServer.extraArgs.v", "2", "4")


def test_controller_manager_and_scheduler_flags_name_their_phases() -> None:
    def args(**flags: str) -> dict[str, Any]:
        return {"extraArgs": [{"name": k, "value": v} for k, v in flags.items()]}

    running = {"controllerManager": args(profiling="false"), "scheduler": args(profiling="false")}
    wanted_now = {"controllerManager": args(profiling="false"), "scheduler": args(v="3")}
    found = diff.cluster_configuration(running, wanted_now)
    assert {d.field for d in found} == {"scheduler.extraArgs.profiling", "scheduler.extraArgs.v"}
    assert diff.phases(found) == ["scheduler"]
    wanted_now["controllerManager"] = args(profiling="true")
    assert diff.phases(diff.cluster_configuration(running, wanted_now)) == [
        "controller-manager",
        "scheduler",
    ]


def test_the_configmaps_keep_kubeadms_fields_and_take_the_inventorys(
    rendered: dict[str, Path],
) -> None:
    running = as_uploaded(rendered, "external")
    want = documents(rendered, "ha")
    cluster = steps.cluster_configuration(running["kubeadm-config"], want["cluster"])
    assert cluster["certificatesDir"] == "/etc/kubernetes/pki"
    assert cluster["apiServer"]["extraArgs"] == want["cluster"]["apiServer"]["extraArgs"]
    assert cluster["apiServer"]["certSANs"] == running["kubeadm-config"]["apiServer"]["certSANs"]
    assert diff.cluster_configuration(cluster, want["cluster"]) == []
    kubelet = steps.merged(running["kubelet-config"], {"maxPods": 99, "evictionHard": {"x": "1"}})
    assert kubelet["clusterDNS"] == ["10.96.0.10"] and kubelet["maxPods"] == 99
    assert kubelet["evictionHard"]["x"] == "1"
    assert set(running["kubelet-config"]["evictionHard"]) < set(kubelet["evictionHard"])


def test_a_v1beta3_cluster_configuration_keeps_its_map_of_flags() -> None:
    running = {"apiVersion": "kubeadm.k8s.io/v1beta3", "apiServer": {"extraArgs": {"v": "2"}}}
    want = {"apiServer": {"extraArgs": [{"name": "v", "value": "4"}]}}
    assert steps.cluster_configuration(running, want)["apiServer"]["extraArgs"] == {"v": "4"}


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "(not set)"), ("30", "30"), (False, "false"), ({"a": [1]}, '{"a":[1]}')],
)
def test_cells_show_values_compactly(value: Any, shown: str) -> None:
    assert diff.cell(value) == shown
    assert len(diff.cell("x" * 200)) == 60
