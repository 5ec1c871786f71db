"""Runs `cluster.upgrade` as the kubeprimer program does, with the hosts replaced by
TEST DOUBLES:

- the playbook runner records each host step (playbook, --limit,
  kubeprimer_upgrade_step) in $UPGRADE_PLAYS instead of reaching hosts, and kills this
  process with SIGKILL at the host step whose --limit is $UPGRADE_KILL_AT, the way a
  crashed controller or a lost session stops a run half-way;
- the read-only command on the first control plane (``kubeadm upgrade plan``) answers
  as kubeadm does: the plan offering the version asked for, or, with
  $UPGRADE_KUBEADM_REFUSES set, kubeadm's error line with that text.

Everything else is the real task: the probe of the API (the Kubernetes API test
double), the plan, the preconditions, the record, drains, readiness and uncordons.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from invoke import Program

from kubeprimer.cli import _Config
from kubeprimer.tasks import cluster_upgrade, ns
from kubeprimer.upgrade import remote


def play_on(c: Any, playbook: str, inv: Any, **options: Any) -> None:
    step = (options.get("extravars") or {}).get("kubeprimer_upgrade_step")
    entry = {"playbook": playbook, "limit": options.get("limit"), "step": step}
    with open(os.environ["UPGRADE_PLAYS"], "a") as log:
        log.write(json.dumps(entry) + "\n")
    if options.get("limit") and options.get("limit") == os.environ.get("UPGRADE_KILL_AT"):
        os.kill(os.getpid(), signal.SIGKILL)


def kubeadm_plan(
    inv: Any, hosts: list[str], command: str, timeout: int, runs_dir: Any = None
) -> dict[str, Any]:
    refusal = os.environ.get("UPGRADE_KUBEADM_REFUSES")
    if refusal:
        return {h: remote.Answer(False, f"[ERROR] {refusal}\n") for h in hosts}
    version = command.split()[3]  # kubeadm upgrade plan VERSION ...
    plan = {
        "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
        "kind": "UpgradePlan",
        "availableUpgrades": [{"components": [{"name": "kube-apiserver", "newVersion": version}]}],
    }
    return {h: remote.Answer(True, json.dumps(plan, indent=2) + "\n") for h in hosts}


if __name__ == "__main__":
    cluster_upgrade.play_on = play_on  # type: ignore[attr-defined]
    remote.run = kubeadm_plan  # type: ignore[assignment]
    Program(name="kubeprimer", binary="kubeprimer", namespace=ns, config_class=_Config).run(
        ["kubeprimer", "cluster.upgrade", *sys.argv[1:]]
    )
