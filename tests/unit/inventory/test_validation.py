"""Inventory mistakes are each reported as one sentence, all at once, before any connection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubeprimer.errors import UserError
from kubeprimer.inventory import load, load_valid, problems
from kubeprimer.paths import ROOT

GOOD_HOSTS = {
    "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "10.1.0.11"}}},
    "kube_node": {
        "hosts": {"w1": {"ansible_host": "10.1.0.21"}, "w2": {"ansible_host": "10.1.0.22"}}
    },
    "etcd": {"hosts": {"cp1": None}},
}


def write(
    tmp_path: Path, groups: dict[str, object], settings: dict[str, object] | None = None
) -> Path:
    (tmp_path / "group_vars").mkdir(exist_ok=True)
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": groups}}))
    (tmp_path / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings or {}))
    return tmp_path / "hosts.yml"


def found(tmp_path: Path, groups: dict[str, object] = GOOD_HOSTS, **settings: object) -> list[str]:
    return problems(load(write(tmp_path, groups, settings)))


def test_good_inventory_has_no_problems(tmp_path: Path) -> None:
    assert found(tmp_path) == []


def test_sample_inventory_is_valid() -> None:
    inv = load_valid(ROOT / "inventories" / "sample" / "hosts.yml")
    assert {h.name for h in inv.group("kube_control_plane")} == {"cp1", "cp2", "cp3"}
    assert inv.settings["kube_cni"] == "calico"


def test_group_vars_override_defaults_and_host_vars_merge(tmp_path: Path) -> None:
    inv = load(write(tmp_path, GOOD_HOSTS, {"kube_cni": "weave"}))
    assert inv.settings["kube_cni"] == "weave"
    assert inv.settings["kube_service_cidr"] == "10.96.0.0/12"  # from kube_defaults
    assert inv.hosts["cp1"].groups == {"kube_control_plane", "etcd"}
    assert inv.hosts["w1"].address == "10.1.0.21"


def test_no_control_plane(tmp_path: Path) -> None:
    groups = {"kube_node": GOOD_HOSTS["kube_node"]}
    assert any("No host is in group kube_control_plane" in p for p in found(tmp_path, groups))


@pytest.mark.parametrize("count", [2, 4])
def test_even_etcd_members_external(tmp_path: Path, count: int) -> None:
    etcd = {f"e{i}": {"ansible_host": f"10.1.0.{30 + i}"} for i in range(count)}
    groups = {**GOOD_HOSTS, "etcd": {"hosts": etcd}}
    messages = found(tmp_path, groups, etcd_mode="external")
    assert [m for m in messages if f"has {count} etcd members" in m and "odd number" in m]


def test_even_stacked_control_planes(tmp_path: Path) -> None:
    planes = {"cp1": {"ansible_host": "10.1.0.11"}, "cp2": {"ansible_host": "10.1.0.12"}}
    groups = {
        **GOOD_HOSTS,
        "kube_control_plane": {"hosts": planes},
        "etcd": {"hosts": {"cp1": None, "cp2": None}},
    }
    messages = found(tmp_path, groups, kube_api_endpoint="10.1.0.10:8443")
    assert messages == [
        "Group kube_control_plane (stacked etcd) has 2 etcd members; use an odd number (1 or 3) so etcd keeps quorum when one fails."
    ]


def test_stacked_etcd_group_must_match_control_planes(tmp_path: Path) -> None:
    groups = {**GOOD_HOSTS, "etcd": {"hosts": {"w1": None}}}
    assert any("differs from kube_control_plane" in m for m in found(tmp_path, groups))


def test_duplicate_addresses_and_names(tmp_path: Path) -> None:
    groups = {
        **GOOD_HOSTS,
        "kube_node": {
            "hosts": {"w1": {"ansible_host": "10.1.0.11"}, "W1": {"ansible_host": "10.1.0.22"}}
        },
    }
    messages = found(tmp_path, groups)
    assert (
        "Hosts cp1, w1 share the address 10.1.0.11; give each host its own ansible_host."
        in messages
    )
    assert any("W1 and w1 differ only in case" in m for m in messages)


def test_duplicate_host_key_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(
        "all:\n  children:\n    kube_node:\n      hosts:\n        w1: {}\n        w1: {}\n"
    )
    with pytest.raises(UserError, match=r"hosts.yml line 6: duplicate key 'w1'"):
        load(path)


@pytest.mark.parametrize("version", ["1.34.3", "1.38.0", "2.0.0"])
def test_unsupported_kubernetes_version(tmp_path: Path, version: str) -> None:
    assert found(tmp_path, kube_version=version) == [
        f"kube_version {version} is not supported; set it to a 1.35, 1.36 or 1.37 release."
    ]


@pytest.mark.parametrize("version", ["1.35.0", "1.36.4", "v1.37.1"])
def test_supported_kubernetes_versions(tmp_path: Path, version: str) -> None:
    assert found(tmp_path, kube_version=version) == []


def test_malformed_kubernetes_version(tmp_path: Path) -> None:
    assert "is not a release number" in found(tmp_path, kube_version="latest")[0]


def test_unknown_cni(tmp_path: Path) -> None:
    assert found(tmp_path, kube_cni="cilium") == [
        "kube_cni 'cilium' is not known; set it to one of flannel, calico, weave."
    ]


def test_overlapping_networks(tmp_path: Path) -> None:
    messages = found(tmp_path, kube_pod_cidr="10.96.0.0/16", kube_node_cidr="10.1.0.0/16")
    assert messages == [
        "kube_pod_cidr 10.96.0.0/16 overlaps kube_service_cidr 10.96.0.0/12; choose ranges that do not overlap."
    ]


def test_node_inside_pod_network(tmp_path: Path) -> None:
    messages = found(tmp_path, kube_pod_cidr="10.0.0.0/8")
    assert (
        "Host cp1 address 10.1.0.11 lies inside kube_pod_cidr 10.0.0.0/8; move that network away from the node network."
        in messages
    )


def test_node_cidr_overlap(tmp_path: Path) -> None:
    assert any(
        "kube_service_cidr 10.96.0.0/12 overlaps kube_node_cidr" in m
        for m in found(tmp_path, kube_node_cidr="10.96.0.0/24")
    )


def test_ha_without_endpoint(tmp_path: Path) -> None:
    planes = {f"cp{i}": {"ansible_host": f"10.1.0.1{i}"} for i in range(1, 4)}
    groups = {
        **GOOD_HOSTS,
        "kube_control_plane": {"hosts": planes},
        "etcd": {"hosts": dict.fromkeys(planes)},
    }
    messages = found(tmp_path, groups)
    assert messages == [
        "3 control planes need kube_api_endpoint, a virtual IP or load balancer in front of them; set it in group_vars/all."
    ]
    assert found(tmp_path / "..", groups, kube_api_endpoint="10.1.0.10:8443") == []


@pytest.mark.parametrize("endpoint", ["10.1.0.10", "10.1.0.10:6443"])
def test_ha_endpoint_needs_its_own_port(tmp_path: Path, endpoint: str) -> None:
    planes = {f"cp{i}": {"ansible_host": f"10.1.0.1{i}"} for i in range(1, 4)}
    groups = {
        **GOOD_HOSTS,
        "kube_control_plane": {"hosts": planes},
        "etcd": {"hosts": dict.fromkeys(planes)},
    }
    assert found(tmp_path, groups, kube_api_endpoint=endpoint) == [
        f"kube_api_endpoint {endpoint} needs a port other than kube_api_port, for example 10.1.0.10:8443: "
        "haproxy listens on it on every control plane, where kube-apiserver holds kube_api_port."
    ]


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"kube_pod_cidr": "10.244.0.1/16"}, "kube_pod_cidr '10.244.0.1/16' is not a valid CIDR"),
        (
            {"kube_service_cidr": "10.96.0.0/40"},
            "kube_service_cidr '10.96.0.0/40' is not a valid CIDR",
        ),
        (
            {"kube_api_endpoint": "10.1.0.300"},
            "kube_api_endpoint '10.1.0.300' is not HOST or HOST:PORT",
        ),
        ({"kube_api_endpoint": "api.example:99999"}, "has an invalid port"),
        ({"proxy_http": "proxy:3128"}, "proxy_http 'proxy:3128' is not a proxy URL"),
        ({"etcd_mode": "sidecar"}, "etcd_mode 'sidecar' is not known"),
        ({"kube_api_port": "abc"}, "kube_api_port 'abc' is not a port"),
        ({"kube_api_port": 70000}, "kube_api_port 70000 is not a port"),
    ],
)
def test_malformed_settings(tmp_path: Path, settings: dict[str, object], fragment: str) -> None:
    assert [m for m in found(tmp_path, **settings) if fragment in m]


def test_malformed_host_address(tmp_path: Path) -> None:
    groups = {
        **GOOD_HOSTS,
        "kube_node": {"hosts": {"w1": {"ansible_host": "10.1.0.999"}, "bad_name": {}}},
    }
    messages = found(tmp_path, groups)
    assert (
        "Host w1 has ansible_host '10.1.0.999', which is neither an IP address nor a hostname; correct it."
        in messages
    )
    assert any("Host name 'bad_name' is not a valid hostname" in m for m in messages)


def test_malformed_ssh_port(tmp_path: Path) -> None:
    groups = {
        **GOOD_HOSTS,
        "kube_node": {"hosts": {"w1": {"ansible_host": "10.1.0.21", "ansible_port": "ssh"}}},
    }
    assert "Host w1 has ansible_port 'ssh'; set it to the SSH port, 1 to 65535." in found(
        tmp_path, groups
    )


@pytest.mark.parametrize("section", ["hosts", "vars", "children"])
def test_group_sections_given_as_lists(tmp_path: Path, section: str) -> None:
    (tmp_path / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"children": {**GOOD_HOSTS, "extra": {section: ["a", "b"]}}}})
    )
    assert f"{section} of group extra in hosts.yml must be a mapping of" in " ".join(
        problems(load(tmp_path / "hosts.yml"))
    )


def test_all_problems_reported_together(tmp_path: Path) -> None:
    with pytest.raises(UserError) as raised:
        load_valid(
            write(
                tmp_path,
                {"kube_node": GOOD_HOSTS["kube_node"]},
                {"kube_cni": "x", "kube_version": "1.2.3"},
            )
        )
    assert len(raised.value.messages) >= 3


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  children:\n    kube_node: [\n")
    with pytest.raises(UserError, match=r"hosts.yml: line \d+, column \d+ is not valid YAML"):
        load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist; pass an existing inventory with -i"):
        load(tmp_path / "nope.yml")


def test_vault_encrypted_values_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_HOSTS)
    (tmp_path / "group_vars" / "all.yml").write_text(
        "secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n"
    )
    assert problems(load(path)) == []


@pytest.mark.parametrize("case", ["missing", "syntax", "rules"])
def test_cli_exits_2_with_sentences_and_no_traceback(tmp_path: Path, case: str) -> None:
    path = tmp_path / "hosts.yml"
    if case == "syntax":
        path.write_text("all: {children: [\n")
    elif case == "rules":
        write(tmp_path, {"kube_node": GOOD_HOSTS["kube_node"]}, {"kube_cni": "x"})
    invoke = Path(sys.executable).with_name("invoke")
    done = subprocess.run(
        [str(invoke), "cluster.check", "-i", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: ") and line.endswith(".") for line in lines)
