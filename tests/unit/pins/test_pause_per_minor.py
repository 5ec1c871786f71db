"""The pause (sandbox) image follows kubeadm's PauseVersion constant for each supported
Kubernetes minor, and roles/containerd configures exactly the pinned one for the minor
an inventory's kube_version names (rendered by Ansible with the role's own variables)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kubeprimer import pins
from tests.programs import run_playbook

# kubeadm's PauseVersion (cmd/kubeadm/app/constants/constants.go) on each release branch:
# 3.10.1 up to 1.35, 3.10.2 from 1.36.
KUBEADM_PAUSE = {"1.35": "3.10.1", "1.36": "3.10.2", "1.37": "3.10.2"}


def test_the_pins_follow_kubeadms_constant_for_every_supported_minor() -> None:
    pause = pins.load()["pause"]
    assert {m: pause["minors"][m]["version"] for m in pins.supported_minors()} == KUBEADM_PAUSE
    assert pause["image"] == "registry.k8s.io/pause"


def test_containerd_configures_the_pause_of_the_inventorys_minor(tmp_path: Path) -> None:
    play = [
        {
            "name": "Resolve the sandbox image per minor",
            "hosts": "localhost",
            "gather_facts": False,
            "connection": "local",
            "roles": [
                {"role": "kube_defaults", "when": False},
                {"role": "containerd", "when": False},
            ],
            "tasks": [
                {
                    "name": "Show it",
                    "ansible.builtin.debug": {
                        "msg": "pause {{ item }}={{ _containerd_sandbox_image }}"
                    },
                    "vars": {"kube_version": "{{ item }}.3"},
                    "loop": sorted(KUBEADM_PAUSE),
                }
            ],
        }
    ]
    playbook = tmp_path / "pause.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    done = run_playbook(["-i", "localhost,", str(playbook)])
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    shown = dict(re.findall(r"pause (\d+\.\d+)=([^\s\"]+)", done.stdout))
    assert shown == {m: f"registry.k8s.io/pause:{tag}" for m, tag in KUBEADM_PAUSE.items()}
