"""CIS Kubernetes Benchmark v1.12 on the nodes, check by check: section 4.2 (kubelet)
over the KubeletConfiguration the kubeadm role renders (stacked and external etcd, a
node with its own kubelet_extra_config, and the lab's container nodes), the kernel
parameters node_prep sets for protectKernelDefaults, and the owners and modes the roles
declare for the files of sections 1.1 and 4.1.

Each check is judged the way kube-bench's cis-1.12 profile judges it (cfg/cis-1.12
node.yaml and master.yaml: the setting's path, operator and value), independently of
cluster.cis; the last tests also run cluster.cis's own kubelet checks over the same
rendering. No kubelet can run here, so the settings are tested as rendered.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.cis import evaluate
from kubeprimer.cis.check import Host
from kubeprimer.cis.facts import KUBELET_CONFIG, HostFacts
from kubeprimer.paths import ROLES, ROOT
from tests.integration.roles.localplay import run_plays
from tests.unit.cluster.conftest import by_kind, docs
from tests.unit.cluster.test_container_node_config import merged

# kube-bench's valid_elements for 4.2.12 (its kubelet list, not the API server's).
KUBELET_STRONG_CIPHERS = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
}
# kubelet's setupKernelTunables (pkg/kubelet/cm/container_manager_linux.go) and the
# values of component-helpers' sysctl constants: with protectKernelDefaults, kubelet
# refuses to start unless each holds.
KUBELET_SYSCTLS = {
    "vm.overcommit_memory": 1,
    "vm.panic_on_oom": 0,
    "kernel.panic": 10,
    "kernel.panic_on_oops": 1,
    "kernel.keys.root_maxkeys": 1000000,
    "kernel.keys.root_maxbytes": 25000000,
}

Config = dict[str, Any]
_UNSET = object()


def at(config: Config, path: str) -> Any:
    value: Any = config
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return _UNSET
        value = value[key]
    return value


def kubelet_configs(rendered: dict[str, Path]) -> dict[str, Config]:
    """What each sample node's /var/lib/kubelet/config.yaml holds after init or join:
    the cluster's KubeletConfiguration (init.yaml, the kubelet-config ConfigMap) with the
    node's own patch over it, as kubeadm applies it."""
    found = {}
    for scenario, folder in rendered.items():
        init: Any = by_kind(folder / "cp1" / "init.yaml")["KubeletConfiguration"]
        for patch_file in sorted(folder.glob("*/kubelet-patch.yaml")):
            (patch,) = docs(patch_file)
            found[f"{scenario}/{patch_file.parent.name}"] = merged(init, patch)
    return found


# check ID -> (setting, kube-bench's test of its value; _UNSET when not set).
CHECKS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "4.2.1": ("authentication.anonymous.enabled", lambda v: v is False),
    "4.2.2": ("authorization.mode", lambda v: v is not _UNSET and "AlwaysAllow" not in v),
    "4.2.3": ("authentication.x509.clientCAFile", lambda v: v is not _UNSET and bool(v)),
    "4.2.4": ("readOnlyPort", lambda v: v is _UNSET or v == 0),
    "4.2.5": ("streamingConnectionIdleTimeout", lambda v: v is _UNSET or v not in (0, "0", "0s")),
    "4.2.6": ("makeIPTablesUtilChains", lambda v: v is _UNSET or v is True),
    "4.2.8": ("eventRecordQPS", lambda v: v is _UNSET or (isinstance(v, int) and v >= 0)),
    # Serving certificates from the cluster CA instead of tlsCertFile/tlsPrivateKeyFile.
    "4.2.9": ("serverTLSBootstrap", lambda v: v is True),
    "4.2.10": ("rotateCertificates", lambda v: v is _UNSET or v is True),
    "4.2.11": ("featureGates.RotateKubeletServerCertificate", lambda v: v is not False),
    "4.2.12": (
        "tlsCipherSuites",
        lambda v: isinstance(v, list) and bool(v) and set(v) <= KUBELET_STRONG_CIPHERS,
    ),
    "4.2.13": ("podPidsLimit", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0),
    "4.2.14": ("seccompDefault", lambda v: v is True),
}
# Explicit in the file, so cluster.cis and kube-bench read the value the node runs with.
EXPLICIT = ("4.2.6", "4.2.8")


@pytest.mark.parametrize("check", list(CHECKS))
def test_kubelet_check_passes_on_every_node(rendered: dict[str, Path], check: str) -> None:
    path, ok = CHECKS[check]
    configs = kubelet_configs(rendered)
    assert {name.split("/")[0] for name in configs} >= {"single", "ha", "external", "lab"}
    failing = {
        name: at(config, path) for name, config in configs.items() if not ok(at(config, path))
    }
    assert failing == {}, f"CIS {check} ({path})"
    if check in EXPLICIT:
        assert all(at(config, path) is not _UNSET for config in configs.values()), check


def test_the_kubelet_checks_fail_on_what_the_benchmark_refuses() -> None:
    """The tests above can fail: each refuses the value kube-bench refuses."""
    bad = {
        "4.2.1": True,
        "4.2.2": "AlwaysAllow",
        "4.2.4": 10255,
        "4.2.5": "0",
        "4.2.6": False,
        "4.2.8": -1,
        "4.2.9": False,
        "4.2.10": False,
        "4.2.11": False,
        "4.2.12": ["TLS_RSA_WITH_AES_128_GCM_SHA256"],
        "4.2.13": _UNSET,
        "4.2.14": _UNSET,
    }
    for check, value in bad.items():
        assert not CHECKS[check][1](value), check
    # The API server's spelling of the ChaCha20 suites is not in kube-bench's kubelet list.
    assert not CHECKS["4.2.12"][1](["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"])


def test_kubelet_takes_the_control_planes_tls_settings(rendered: dict[str, Path]) -> None:
    """4.2.12 reuses kubeadm_tls_cipher_suites and kubeadm_tls_min_version: the same
    suites, two of them under the older names kube-bench's kubelet list uses (kubelet's
    cipher flag maps both names to the same suite)."""
    defaults = yaml.safe_load((ROLES / "kubeadm" / "defaults" / "main.yml").read_text())
    aliases = {
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    }
    want = [aliases.get(s, s) for s in defaults["kubeadm_tls_cipher_suites"]]
    for name, config in kubelet_configs(rendered).items():
        assert config["tlsCipherSuites"] == want, name
        assert config["tlsMinVersion"] == defaults["kubeadm_tls_min_version"], name


def test_protect_kernel_defaults_on_bare_metal_not_in_lab_containers(
    rendered: dict[str, Path],
) -> None:
    for name, config in kubelet_configs(rendered).items():
        container = name.startswith("lab/")
        assert config["protectKernelDefaults"] is not container, name
        # The node's own setting survives: HA's w1 sets maxPods itself.
    assert kubelet_configs(rendered)["ha/w1"]["maxPods"] == 50


def test_cluster_cis_passes_the_rendered_kubelets(rendered: dict[str, Path]) -> None:
    """cluster.cis's own section 4.2 checks over the same configurations: all PASS."""
    for name, config in kubelet_configs(rendered).items():
        texts = {KUBELET_CONFIG: yaml.safe_dump(config)}
        facts = HostFacts.from_probe({"stat": {}, "tree": {}, "text": texts})
        host = Host(name, facts, control_plane=False, node=True, etcd=False)
        rows = [r for r in evaluate.host_rows(host) if r.check.startswith("4.2.")]
        assert {r.check for r in rows} >= set(CHECKS), name
        assert {r.check: r.detail for r in rows if r.status == "FAIL"} == {}, name


# --- kernel parameters (node_prep) ------------------------------------------------------


@pytest.fixture(scope="module")
def node_prep_sysctls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """host -> the parameters node_prep writes and applies there, evaluated by Ansible
    with the role's own variables: a control plane, a worker, an external etcd host, and
    a worker that is a container."""
    out = tmp_path_factory.mktemp("node-prep-cis")
    play = {
        "name": "Evaluate node_prep's kernel parameters",
        "hosts": "cp1:w1:e1:c1",
        "gather_facts": False,
        "roles": [{"role": "node_prep", "when": False}],
        "tasks": [
            {
                "name": "Write the parameters the role keeps",
                "ansible.builtin.copy": {
                    "content": "{{ _node_prep_sysctls | to_json }}",
                    "dest": "{{ out }}/{{ inventory_hostname }}.json",
                    "mode": "0600",
                },
                "vars": {"kube_node_in_container": "{{ inventory_hostname == 'c1' }}"},
            }
        ],
    }
    groups = {
        "kube_control_plane": {"cp1": "192.0.2.11"},
        "kube_node": {"w1": "192.0.2.21", "c1": "192.0.2.22"},
        "etcd": {"e1": "192.0.2.31"},
    }
    done = run_plays(out, [play], {"out": str(out)}, groups)
    assert done.returncode == 0, done.stdout[-3000:]
    return {h: json.loads((out / f"{h}.json").read_text()) for h in ("cp1", "w1", "e1", "c1")}


def test_kubernetes_nodes_get_the_kernel_parameters_kubelet_protects(
    node_prep_sysctls: dict[str, dict[str, Any]],
) -> None:
    defaults = yaml.safe_load((ROLES / "node_prep" / "defaults" / "main.yml").read_text())
    for host in ("cp1", "w1"):
        assert node_prep_sysctls[host] == {**defaults["node_prep_sysctls"], **KUBELET_SYSCTLS}
    # An etcd host runs no kubelet: only the role's own parameters.
    assert node_prep_sysctls["e1"] == defaults["node_prep_sysctls"]


def test_container_nodes_leave_the_kernel_wide_parameters_to_the_host(
    node_prep_sysctls: dict[str, dict[str, Any]],
) -> None:
    """Every parameter kubelet protects is kernel-wide: none is written in a container,
    whose kubelet runs with protectKernelDefaults false (roles/kubeadm)."""
    assert set(node_prep_sysctls["c1"]) & set(KUBELET_SYSCTLS) == set()
    assert node_prep_sysctls["c1"]["net.ipv4.ip_forward"] == 1
    container = yaml.safe_load((ROLES / "kubeadm" / "defaults" / "main.yml").read_text())
    assert container["kubeadm_container_kubelet_config"]["protectKernelDefaults"] is False


def test_kubelets_own_sysctl_values_win_over_the_inventory(tmp_path: Path) -> None:
    """A site's node_prep_sysctls cannot set a value kubelet would refuse to start with."""
    play = {
        "name": "Evaluate",
        "hosts": "w1",
        "gather_facts": False,
        "roles": [{"role": "node_prep", "when": False}],
        "tasks": [
            {
                "name": "Write",
                "ansible.builtin.copy": {
                    "content": "{{ _node_prep_sysctls | to_json }}",
                    "dest": f"{tmp_path}/w1.json",
                    "mode": "0600",
                },
            }
        ],
    }
    settings = {"node_prep_sysctls": {"kernel.panic": 0, "net.ipv4.ip_forward": 1}}
    done = run_plays(tmp_path, [play], settings, {"kube_node": {"w1": "192.0.2.21"}})
    assert done.returncode == 0, done.stdout[-3000:]
    assert json.loads((tmp_path / "w1.json").read_text())["kernel.panic"] == 10


# --- owners and modes the roles declare (sections 1.1 and 4.1) ---------------------------


def tasks(role: str, name: str) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = yaml.safe_load((ROLES / role / "tasks" / name).read_text())
    return loaded


def task(role: str, file: str, title: str) -> dict[str, Any]:
    (found,) = [t for t in tasks(role, file) if title in t["name"]]
    return found


def test_4_1_1_and_4_1_2_the_kubelet_drop_in_is_root_only() -> None:
    install = task("kube_artifacts", "configure.yml", "kubeadm's drop-in")
    (drop_in,) = [i for i in install["loop"] if i["dest"].endswith("/10-kubeadm.conf")]
    module = install["ansible.builtin.template"]
    assert module["mode"] == "{{ item.mode }}" and drop_in["mode"] == "0600"
    assert (module["owner"], module["group"]) == ("root", "root")


def test_4_1_9_and_4_1_10_the_kubelet_configuration_is_root_only() -> None:
    vars_ = yaml.safe_load((ROLES / "kubeadm" / "vars" / "main.yml").read_text())
    assert vars_["_kubeadm_kubelet_config_file"] == KUBELET_CONFIG
    module = task("kubeadm", "node-file-modes.yml", "CIS 4.1.9")["ansible.builtin.file"]
    assert module == {
        "path": "{{ _kubeadm_kubelet_config_file }}",
        "owner": "root",
        "group": "root",
        "mode": "0600",
    }


def test_1_1_11_and_1_1_12_the_stacked_etcd_folder_belongs_to_etcd() -> None:
    vars_ = yaml.safe_load((ROLES / "kubeadm" / "vars" / "main.yml").read_text())
    assert vars_["_kubeadm_etcd_data_dir"] == "/var/lib/etcd"
    init = (ROLES / "kubeadm" / "templates" / "kubeadm-init.yaml.j2").read_text()
    assert "dataDir: {{ _kubeadm_etcd_data_dir }}" in init
    user = task("kubeadm", "node-file-modes.yml", "etcd system user")
    assert user["ansible.builtin.user"]["name"] == "etcd"
    assert user["ansible.builtin.user"]["system"] is True
    folder = task("kubeadm", "node-file-modes.yml", "CIS 1.1.11")
    assert folder["ansible.builtin.file"] == {
        "path": "{{ _kubeadm_etcd_data_dir }}",
        "state": "directory",
        "owner": "etcd",
        "group": "etcd",
        "mode": "0700",
    }
    # Stacked etcd's control planes only; external etcd's folder is roles/etcd's.
    assert "etcd_mode != 'external'" in folder["when"][0]
    assert "_kubeadm_is_control_plane" in folder["when"][0]


def test_pki_kubeconfigs_and_manifests_are_root_only() -> None:
    """1.1.1-1.1.8 (static pod manifests), 1.1.13-1.1.21 (kubeconfigs, PKI) and
    4.1.5-4.1.8 (kubelet.conf, the client CA): every file under /etc/kubernetes and
    the kubelet's PKI is made 0600 root:root, whatever kubeadm wrote."""
    find = task("kubeadm", "private-files.yml", "Find")["ansible.builtin.find"]
    assert find["paths"] == ["/etc/kubernetes", "/var/lib/kubelet/pki"]
    assert find["recurse"] is True
    fix = task("kubeadm", "private-files.yml", "readable by root only")
    assert fix["ansible.builtin.file"]["mode"] == "0600"
    assert (fix["ansible.builtin.file"]["owner"], fix["ansible.builtin.file"]["group"]) == (
        "root",
        "root",
    )
    for attribute in ("'mode', 'eq', '0600'", "'uid', 'eq', 0", "'gid', 'eq', 0"):
        assert attribute in fix["loop"]
    dirs = task("kubeadm", "node-file-modes.yml", "PKI folders to root")
    assert dirs["ansible.builtin.file"] == {
        "path": "{{ item.path }}",
        "owner": "root",
        "group": "root",
    }


def test_1_1_9_and_1_1_10_cni_files_are_root_only() -> None:
    find = task("kubeadm", "node-file-modes.yml", "Find the CNI")["ansible.builtin.find"]
    assert find["paths"] == ["/etc/cni/net.d"]
    fix = task("kubeadm", "node-file-modes.yml", "CNI configuration readable")
    assert fix["ansible.builtin.file"]["mode"] == "0600"
    assert fix["ansible.builtin.file"]["owner"] == "root"


@pytest.mark.parametrize("file", ["service.yml", "upgrade-node.yml", "upgrade-control-plane.yml"])
def test_the_modes_are_enforced_after_init_join_and_upgrade(file: str) -> None:
    """kubeadm rewrites config.yaml 0644 on each: the enforcement runs after kubeadm."""
    steps = tasks("kubeadm", file)
    names = [t.get("ansible.builtin.import_tasks") or t["name"] for t in steps]
    assert "node-file-modes.yml" in names and "private-files.yml" in names
    # The steps that run kubeadm init, join or upgrade.
    kubeadm_steps = [
        i for i, t in enumerate(steps) if "kubeadm_binary" in str(t) or "join_all.yml" in str(t)
    ]
    assert kubeadm_steps
    assert names.index("node-file-modes.yml") > max(kubeadm_steps)
    assert names.index("node-file-modes.yml") > names.index("private-files.yml")


# --- the kubeadm test double writes kubeadm's modes -----------------------------------

DOUBLE = ROOT / "tests" / "doubles" / "fake-kubeadm"


def run_double(base: Path, host: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FAKE_KUBEADM_STATE": str(base / "state"),
        "FAKE_KUBEADM_ETC": str(base / host / "etc"),
        "FAKE_KUBEADM_KUBELET": str(base / host / "kubelet"),
    }
    return subprocess.run(
        [str(DOUBLE), *argv], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def local_copy(source: Path, base: Path, host: str) -> Path:
    """The rendered file with its host paths moved under ``base`` (nothing of this
    machine's own /etc or /var is read or written)."""
    patches = base / host / "patches"
    patches.mkdir(parents=True)
    (patches / "kubeletconfiguration+merge.yaml").write_text(
        (source.parent / "kubelet-patch.yaml").read_text()
    )
    text = source.read_text().replace("/etc/kubernetes/kubeadm/patches", str(patches))
    text = text.replace("dataDir: /var/lib/etcd", f"dataDir: {base / host / 'etcd'}")
    copy = base / host / source.name
    copy.write_text(text)
    copy.chmod(0o600)
    return copy


def mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


@pytest.mark.parametrize("scenario", ["single", "lab"])
def test_the_double_writes_the_kubelet_files_as_kubeadm_does(
    rendered: dict[str, Path], tmp_path: Path, scenario: str
) -> None:
    """init, then a worker's join: the kubelet's folder 0700, config.yaml and
    kubeadm-flags.env 0644 (kubeadm's modes, which the role then tightens), config.yaml
    holding the cluster's KubeletConfiguration with the node's patch over it."""
    folder = rendered[scenario]
    init = run_double(
        tmp_path,
        "cp1",
        "init",
        "--config",
        str(local_copy(folder / "cp1" / "init.yaml", tmp_path, "cp1")),
    )
    assert init.returncode == 0, init.stderr
    join = run_double(
        tmp_path,
        "w1",
        "join",
        "--config",
        str(local_copy(folder / "w1" / "join.yaml", tmp_path, "w1")),
    )
    assert join.returncode == 0, join.stderr
    assert mode(tmp_path / "cp1" / "etcd") == "0o700"
    for host in ("cp1", "w1"):
        kubelet = tmp_path / host / "kubelet"
        assert mode(kubelet) == "0o700"
        assert mode(kubelet / "config.yaml") == "0o644"
        assert mode(kubelet / "kubeadm-flags.env") == "0o644"
        (patch,) = docs(folder / host / "kubelet-patch.yaml")
        cluster: Any = by_kind(folder / "cp1" / "init.yaml")["KubeletConfiguration"]
        assert yaml.safe_load((kubelet / "config.yaml").read_text()) == merged(cluster, patch)
    flags = (tmp_path / "w1" / "kubelet" / "kubeadm-flags.env").read_text()
    assert "--node-ip=10.0.0.21" in flags
