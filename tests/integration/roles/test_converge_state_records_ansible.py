"""converge_state records what a role declares in its vars/converge.yml, rendered by
ansible-playbook with the role's own variables, and names what changed since.

- The controller's CA stage (roles/pki) records both CAs, so deleting or replacing
  etcd's CA key makes the stage run again.
- roles/kube_artifacts unpacks crictl and the CNI plugins from archives (served by the
  ArtifactMirror test double, tests/doubles/artifact_mirror.py, over real HTTP) into
  temporary folders; deleting one unpacked binary is drift, named by its path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kubeprimer import pins
from kubeprimer.paths import ROLES
from tests.doubles import artifact_mirror
from tests.integration.roles.localplay import run_plays
from tests.unit.plugins.loader import load

pytestmark = pytest.mark.integration

cs = load("modules/converge_state.py")


def record_play(role: str, stage: str, state: Path, steps: list[str]) -> dict[str, Any]:
    """The role's task files ``steps``, then the record a cluster.yml stage takes."""
    include = [
        {
            "name": f"{role} {step}",
            "ansible.builtin.include_role": {"name": role, "tasks_from": step, "public": True},
        }
        for step in steps
    ]
    return {
        "name": stage,
        "hosts": "localhost",
        "gather_facts": False,
        "vars_files": [str(ROLES / role / "vars" / "converge.yml")],
        "tasks": [
            *include,
            {
                "name": "Record",
                "converge_state": {
                    "record": stage,
                    "declared": [f"{{{{ _{role}_converge }}}}"],
                    "fingerprint": "f1",
                    "state_dir": str(state),
                },
            },
        ],
    }


def recorded(state: Path, stage: str) -> dict[str, str]:
    return dict(json.loads((state / f"{stage}.json").read_text())["state"])


def test_the_ca_stage_records_the_toolkit_and_the_etcd_ca(tmp_path: Path) -> None:
    pki, state = tmp_path / "pki", tmp_path / "state"
    play = record_play("pki", "controller_ca", state, ["main"])
    done = run_plays(tmp_path, [play], {"pki_dir": str(pki)}, {})
    assert done.returncode == 0, done.stdout[-3000:]
    kept = recorded(state, "controller_ca")
    for name in ("ca.key", "ca.crt", "etcd-ca.key", "etcd-ca.crt"):
        assert kept.get(f"file:{pki / name}", "absent").startswith("file "), name
    assert kept[f"file:{pki}"].startswith("dir ")
    assert cs.why_pending(str(state), "controller_ca", "f1") is None

    (pki / "etcd-ca.key").unlink()
    assert cs.why_pending(str(state), "controller_ca", "f1") == (
        f"changed on the host: file:{pki / 'etcd-ca.key'}"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="kube_artifacts installs files owned by root")
def test_deleting_an_unpacked_binary_is_drift(tmp_path: Path) -> None:
    kube = "1.36.2"
    crictl = pins.load()["crictl"]["minors"]["1.36"]["version"]
    cni = pins.load()["cni_plugins"]["version"]
    bin_dir, cni_dir, state = tmp_path / "bin", tmp_path / "cni", tmp_path / "state"
    artifact_mirror.build(tmp_path / "mirror", kube, crictl, cni)
    with artifact_mirror.serve(tmp_path / "mirror") as url:
        settings = {
            "kube_version": kube,
            "kube_artifacts_mirror_url": url,
            "kube_artifacts_bin_dir": str(bin_dir),
            "kube_artifacts_cni_bin_dir": str(cni_dir),
            "kube_artifacts_download_timeout": 5,
        }
        # vars/main.yml outranks play vars: the cache folder moves with an extra var.
        play = record_play("kube_artifacts", "kube_artifacts", state, ["preflight", "install"])
        done = run_plays(
            tmp_path,
            [play],
            settings,
            {},
            extra_vars={"_kube_artifacts_cache_dir": str(tmp_path / "cache")},
        )
    assert done.returncode == 0, done.stdout[-3000:]
    kept = recorded(state, "kube_artifacts")
    unpacked = [f"file:{bin_dir / 'crictl'}"]
    unpacked += [f"file:{cni_dir / name}" for name in artifact_mirror.CNI_PLUGINS]
    for key in unpacked:
        assert kept.get(key, "absent").startswith("file 0:0 755 "), (key, kept)
    assert cs.why_pending(str(state), "kube_artifacts", "f1") is None

    (bin_dir / "crictl").unlink()
    (cni_dir / "portmap").unlink()
    assert cs.why_pending(str(state), "kube_artifacts", "f1") == (
        f"changed on the host: file:{bin_dir / 'crictl'}, file:{cni_dir / 'portmap'}"
    )
