"""roles/kube_artifacts downloads, run by ansible-playbook on this machine against a real
HTTP server that serves the ArtifactMirror test double (tests/doubles/artifact_mirror.py).

Only the role's download and unpack steps run (tasks_from preflight and install), into
temporary folders, so the machine's own /usr/local/bin and systemd are left alone.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kubeprimer import pins
from tests.doubles import artifact_mirror
from tests.integration.roles.localplay import changed, run_role

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="installs files owned by root"),
]

# An inventory's kube_version of another minor than the default; crictl and the CNI
# plugins are then the ones pinned for it.
KUBE = "1.36.2"
CRICTL = pins.load()["crictl"]["minors"]["1.36"]["version"]
CNI = pins.load()["cni_plugins"]["version"]


def _play(tmp_path: Path, mirror_url: str) -> subprocess.CompletedProcess[str]:
    settings = {
        "kube_version": KUBE,
        "kube_artifacts_mirror_url": mirror_url,
        "kube_artifacts_bin_dir": str(tmp_path / "bin"),
        "kube_artifacts_cni_bin_dir": str(tmp_path / "cni"),
        "_kube_artifacts_cache_dir": str(tmp_path / "cache"),
        "kube_artifacts_download_timeout": 5,
    }
    return run_role(tmp_path, "kube_artifacts", ["preflight", "install"], settings)


def test_installs_from_the_mirror_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    artifact_mirror.build(tmp_path / "mirror", KUBE, CRICTL, CNI)
    with artifact_mirror.serve(tmp_path / "mirror") as url:
        first = _play(tmp_path, url)
        assert first.returncode == 0, first.stdout + first.stderr
        second = _play(tmp_path, url)
    assert second.returncode == 0, second.stdout + second.stderr
    assert changed(second) == 0
    for name in ("kubeadm", "kubelet", "kubectl", "crictl"):
        out = subprocess.run([tmp_path / "bin" / name], capture_output=True, text=True, check=True)
        assert name in out.stdout
    assert sorted(p.name for p in (tmp_path / "cni").iterdir()) == sorted(
        artifact_mirror.CNI_PLUGINS
    )


def test_a_file_that_does_not_match_its_checksum_fails_naming_the_file(tmp_path: Path) -> None:
    paths = artifact_mirror.build(tmp_path / "mirror", KUBE, CRICTL, CNI)
    paths["kubelet"].write_bytes(b"#!/bin/sh\necho tampered\n")
    with artifact_mirror.serve(tmp_path / "mirror") as url:
        result = _play(tmp_path, url)
    assert result.returncode != 0
    assert (
        f"kubelet from {url}/release/v{KUBE}/bin/linux/amd64/kubelet does not match"
        in result.stdout
    )
    assert "kube_artifacts_mirror_url" in result.stdout
    assert not (tmp_path / "bin" / "kubelet").exists()


def test_an_unreachable_mirror_fails_naming_the_setting(tmp_path: Path) -> None:
    with artifact_mirror.serve(tmp_path) as url:
        dead = url  # the port is free again once the server stops
    result = _play(tmp_path, dead)
    assert result.returncode != 0
    assert f"Could not download kubeadm from {dead}/release/v{KUBE}" in result.stdout
    assert "set kube_artifacts_mirror_url to a reachable mirror" in result.stdout
    # One sentence for the shared source that names the other files too.
    assert "nor kubelet, kubectl, crictl" in " ".join(result.stdout.split())
