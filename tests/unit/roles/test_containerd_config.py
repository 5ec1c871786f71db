"""roles/containerd's config.toml, rendered by Ansible with the role's own variables and
the pins, checked field by field against containerd's documented configuration
(docs/cri/config.md and docs/PLUGINS.md of containerd): version 3 with the split CRI
plugins for containerd 2.x (the tarball), version 2 for Debian's 1.6 and 1.7 packages.
No containerd 2 binary can run here, so the schema is the check."""

from __future__ import annotations

import configparser
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer import pins
from tests.programs import run_playbook

RENDER_PLAYBOOK = Path(__file__).with_name("test_containerd_config_render.yml")
MIRROR = "https://registry.example.internal:5000"
PINS = pins.load()

# The hosts rendered, each with its own settings.
HOSTS: dict[str, dict[str, Any]] = {
    "tarball": {"containerd_registry_mirrors": {"registry.k8s.io": [MIRROR]}},
    "tarball_cgroupfs": {
        "containerd_systemd_cgroup": False,
        "containerd_mirror_url": "http://files.example.internal:8080/",
        "containerd_bin_dir": "/opt/containerd/bin",
        "kube_version": "1.35.2",
    },
    "distro_bookworm": {
        "containerd_source": "distro",
        "containerd_package_version": PINS["containerd"]["distro"]["bookworm"],
    },
    "distro_trixie": {
        "containerd_source": "distro",
        "containerd_package_version": PINS["containerd"]["distro"]["trixie"],
    },
}

# Every key roles/containerd renders, by table, as containerd documents it: the tables
# of version 3 (containerd 2.x) under the split CRI plugins, of version 2 under the one
# io.containerd.grpc.v1.cri plugin.
V3_IMAGES = "io.containerd.cri.v1.images"
V3_RUNTIME = "io.containerd.cri.v1.runtime"
V2_CRI = "io.containerd.grpc.v1.cri"
RUNC_TABLE = set(
    [
        "runtime_type",
        "runtime_path",
        "pod_annotations",
        "container_annotations",
        "privileged_without_host_devices",
        "base_runtime_spec",
        "cni_conf_dir",
        "cni_max_conf_num",
        "snapshotter",
        "sandboxer",
        "io_type",
        "options",
    ]
)
RUNC_OPTIONS = set(
    [
        "BinaryName",
        "CriuImagePath",
        "CriuWorkPath",
        "IoGid",
        "IoUid",
        "NoNewKeyring",
        "Root",
        "ShimCgroup",
        "SystemdCgroup",
    ]
)
V3_SCHEMA: dict[str, set[str]] = {
    V3_IMAGES: set(
        [
            "snapshotter",
            "disable_snapshot_annotations",
            "discard_unpacked_layers",
            "max_concurrent_downloads",
            "image_pull_progress_timeout",
            "image_pull_with_sync_fs",
            "stats_collect_period",
            "pinned_images",
            "registry",
            "image_decryption",
        ]
    ),
    f"{V3_IMAGES}.pinned_images": {"sandbox"},
    f"{V3_IMAGES}.registry": {"config_path", "headers"},
    V3_RUNTIME: set(
        [
            "containerd",
            "cni",
            "enable_selinux",
            "max_container_log_line_size",
            "disable_cgroup",
            "enable_cdi",
            "cdi_spec_dirs",
        ]
    ),
    f"{V3_RUNTIME}.containerd": set(
        [
            "default_runtime_name",
            "runtimes",
            "ignore_blockio_not_enabled_errors",
            "ignore_rdt_not_enabled_errors",
        ]
    ),
    f"{V3_RUNTIME}.containerd.runtimes": {"runc"},
    f"{V3_RUNTIME}.containerd.runtimes.runc": RUNC_TABLE,
    f"{V3_RUNTIME}.containerd.runtimes.runc.options": RUNC_OPTIONS,
}
# Keys of the version 2 layout that containerd 2 moved: none may be left in a version 3 file.
V2_ONLY = {"sandbox_image", "systemd_cgroup", "default_runtime", "untrusted_workload_runtime"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("containerd-render")
    inventory = base / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": HOSTS}}))
    out = base / "out"
    done = run_playbook(["-i", str(inventory), str(RENDER_PLAYBOOK), "-e", f"render_dir={out}"])
    assert done.returncode == 0, f"rendering failed:\n{(done.stdout + done.stderr)[-4000:]}"
    return {host: out / host for host in HOSTS}


def config(rendered: dict[str, Path], host: str) -> dict[str, Any]:
    return tomllib.loads((rendered[host] / "config.toml").read_text())


def tables(doc: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every table of the plugins section by its dotted name below plugins."""
    found: dict[str, dict[str, Any]] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            name = f"{prefix}.{key}" if prefix else key
            found[name] = value
            found.update(tables(value, name))
    return found


def all_keys(doc: dict[str, Any]) -> set[str]:
    keys = set(doc)
    for value in doc.values():
        if isinstance(value, dict):
            keys |= all_keys(value)
    return keys


def resolved(rendered: dict[str, Path], host: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((rendered[host] / "resolved.json").read_text())
    return data


@pytest.mark.parametrize("host", ["tarball", "tarball_cgroupfs"])
def test_containerd_2_reads_version_3_with_only_documented_fields(
    rendered: dict[str, Path], host: str
) -> None:
    doc = config(rendered, host)
    assert doc["version"] == 3
    assert set(doc) == {"version", "plugins"}
    # Only the two CRI plugins of containerd 2: no io.containerd.grpc.v1.cri table, which
    # in version 3 holds the streaming server alone, and nothing of the 1.x layout.
    assert set(doc["plugins"]) == {V3_IMAGES, V3_RUNTIME}
    unknown = [
        f"{name}.{key}"
        for name, table in tables(doc["plugins"]).items()
        for key in table
        if key not in V3_SCHEMA.get(name, set())
    ]
    assert unknown == []
    assert all_keys(doc) & V2_ONLY == set()


def test_containerd_2_fields_carry_kubelets_settings(rendered: dict[str, Path]) -> None:
    plugins = config(rendered, "tarball")["plugins"]
    images, runtime = plugins[V3_IMAGES], plugins[V3_RUNTIME]
    assert images["pinned_images"] == {"sandbox": resolved(rendered, "tarball")["sandbox"]}
    assert images["registry"] == {"config_path": "/etc/containerd/certs.d"}
    assert runtime["containerd"]["default_runtime_name"] == "runc"
    runc = runtime["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"] == {"SystemdCgroup": True}
    cgroupfs = config(rendered, "tarball_cgroupfs")["plugins"][V3_RUNTIME]
    assert cgroupfs["containerd"]["runtimes"]["runc"]["options"] == {"SystemdCgroup": False}


def test_the_sandbox_image_is_kubeadms_pause_for_the_minor(rendered: dict[str, Path]) -> None:
    sandbox = resolved(rendered, "tarball")["sandbox"]
    assert sandbox.startswith("registry.k8s.io/pause:3.")
    # The same image whichever format names it.
    v2 = config(rendered, "distro_bookworm")["plugins"][V2_CRI]
    assert v2["sandbox_image"] == sandbox
    older = config(rendered, "tarball_cgroupfs")["plugins"][V3_IMAGES]["pinned_images"]
    assert older["sandbox"] == resolved(rendered, "tarball_cgroupfs")["sandbox"]
    assert older["sandbox"].startswith("registry.k8s.io/pause:3.")


@pytest.mark.parametrize("host", ["distro_bookworm", "distro_trixie"])
def test_debians_containerd_1_reads_version_2(rendered: dict[str, Path], host: str) -> None:
    doc = config(rendered, host)
    assert doc["version"] == 2
    assert set(doc["plugins"]) == {V2_CRI}
    cri = doc["plugins"][V2_CRI]
    assert set(cri) == {"sandbox_image", "containerd", "registry"}
    assert cri["registry"] == {"config_path": "/etc/containerd/certs.d"}
    assert cri["containerd"]["default_runtime_name"] == "runc"
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc == {"runtime_type": "io.containerd.runc.v2", "options": {"SystemdCgroup": True}}


def test_the_tarball_downloads_are_upstreams_checksummed_release_files(
    rendered: dict[str, Path],
) -> None:
    sources = resolved(rendered, "tarball")["sources"]
    version, runc = PINS["containerd"]["version"], PINS["runc"]["version"]
    tarball = f"containerd-{version}-linux-amd64.tar.gz"
    base = f"https://github.com/containerd/containerd/releases/download/v{version}"
    assert sources["containerd"]["url"] == f"{base}/{tarball}"
    assert sources["containerd"]["checksum"] == f"sha256:{base}/{tarball}.sha256sum"
    assert sources["containerd"]["dest"] == f"/var/cache/kubeprimer/containerd/{tarball}"
    runc_base = f"https://github.com/opencontainers/runc/releases/download/v{runc}"
    assert sources["runc"] == {
        "url": f"{runc_base}/runc.amd64",
        "checksum": f"sha256:{runc_base}/runc.sha256sum",
        "dest": "/usr/local/bin/runc",
        "mode": "0755",
    }


def test_a_mirror_keeps_upstreams_paths(rendered: dict[str, Path]) -> None:
    sources = resolved(rendered, "tarball_cgroupfs")["sources"]
    version, runc = PINS["containerd"]["version"], PINS["runc"]["version"]
    mirror = "http://files.example.internal:8080"
    assert sources["containerd"]["url"] == (
        f"{mirror}/containerd/containerd/releases/download/v{version}"
        f"/containerd-{version}-linux-amd64.tar.gz"
    )
    assert sources["runc"]["checksum"] == (
        f"sha256:{mirror}/opencontainers/runc/releases/download/v{runc}/runc.sha256sum"
    )
    assert sources["runc"]["dest"] == "/opt/containerd/bin/runc"


def test_the_unit_is_upstreams_with_containerd_in_the_bin_dir(rendered: dict[str, Path]) -> None:
    for host, binary in (
        ("tarball", "/usr/local/bin/containerd"),
        ("tarball_cgroupfs", "/opt/containerd/bin/containerd"),
    ):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str  # type: ignore[assignment,method-assign]
        unit.read_string((rendered[host] / "containerd.service").read_text())
        service = dict(unit["Service"])
        assert service["ExecStart"] == binary
        # What upstream's unit sets for a runtime whose shims outlive restarts.
        assert service["Type"] == "notify"
        assert service["Delegate"] == "yes"
        assert service["KillMode"] == "process"
        assert service["OOMScoreAdjust"] == "-999"
        assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_a_mirrored_registry_gets_hosts_toml(rendered: dict[str, Path]) -> None:
    hosts = tomllib.loads((rendered["tarball"] / "registry.k8s.io.hosts.toml").read_text())
    assert hosts == {
        "server": "https://registry.k8s.io",
        "host": {MIRROR: {"capabilities": ["pull", "resolve"]}},
    }
