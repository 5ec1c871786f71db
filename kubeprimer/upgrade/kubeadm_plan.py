"""kubeadm's own verdict on an upgrade: ``kubeadm upgrade plan <version> -o json`` on the
first control plane, refused when kubeadm reports an error or does not offer the target.

kubeadm checks what the version rules here cannot see: the cluster's kubeadm
configuration and component configs, its own version against the target, and the
control plane as it really runs. It must be the kubeadm of the target release (kubeadm
refuses to plan past its own version), so the caller names the binary: upstream's
procedure installs the new kubeadm on the first control plane first, which changes no
running component. The JSON is kubeadm's UpgradePlan (output.kubeadm.k8s.io): v1alpha3
lists ``availableUpgrades[].components[]``, v1alpha2 ``components[]``; each component
has ``name``, ``currentVersion`` and ``newVersion``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubeprimer.errors import UserError
from kubeprimer.inventory import Inventory
from kubeprimer.upgrade import remote, rules

# The components whose new version says which Kubernetes release kubeadm would apply.
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet")
DEFAULT_KUBEADM = "/usr/local/bin/kubeadm"  # roles/kube_artifacts' kube_artifacts_bin_dir
ADMIN_CONF = "/etc/kubernetes/admin.conf"


def command(target: str, kubeadm: str = DEFAULT_KUBEADM) -> str:
    """The shell line run on the first control plane; kubeadm's errors go to stdout too."""
    version = f"v{target.lstrip('v')}"
    args = [kubeadm, "upgrade", "plan", version, "--kubeconfig", ADMIN_CONF, "-o", "json"]
    return f"{shlex.join(args)} 2>&1"


def documents(text: str) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``text`` that starts a line: kubeadm prints its JSON indented,
    after lines of log text."""
    decoder = json.JSONDecoder()
    lines = text.splitlines(keepends=True)
    offset = 0
    for line in lines:
        if line.startswith("{"):
            try:
                found, _ = decoder.raw_decode(text, offset)
            except ValueError:
                found = None
            if isinstance(found, dict):
                yield found
        offset += len(line)


def offered(plan: dict[str, Any]) -> set[str]:
    """The releases kubeadm would take the control plane to."""
    groups = plan.get("availableUpgrades")
    lists = [g.get("components") or [] for g in groups] if isinstance(groups, list) else []
    lists.append(plan.get("components") or [])
    return {
        str(c.get("newVersion"))
        for components in lists
        for c in components
        if isinstance(c, dict) and c.get("name") in CONTROL_PLANE and c.get("newVersion")
    }


def verdict(host: str, target: str, answer: remote.Answer) -> None:
    """Refuse (UserError, exit 2) unless kubeadm on ``host`` planned ``target`` cleanly."""
    plans = [d for d in documents(answer.stdout) if d.get("kind") == "UpgradePlan"]
    if not answer.ok or not plans:
        said = _last_error(answer.stdout) or answer.problem or "no plan printed"
        raise UserError(
            f"kubeadm upgrade plan {target} on {host} refused the upgrade ({said}); fix what "
            "it names, then run invoke cluster.upgrade again."
        )
    want = rules.parse(target)
    versions = offered(plans[-1])
    if not any(rules.parse(v) == want for v in versions):
        shown = ", ".join(sorted(versions)) or "nothing"
        raise UserError(
            f"kubeadm upgrade plan on {host} does not offer Kubernetes {target} (it offers "
            f"{shown}); check kube_version and the kubeadm on {host}, then run invoke "
            "cluster.upgrade again."
        )


def check(
    inv: Inventory,
    target: str,
    *,
    kubeadm: str = DEFAULT_KUBEADM,
    run: remote.Runner | None = None,
    runs_dir: Path | None = None,
) -> None:
    """Ask kubeadm on the first control plane about ``target``; refuse when it disagrees."""
    first = next(iter(inv.group("kube_control_plane")), None)
    if first is None:
        raise UserError(
            "The inventory has no hosts in group kube_control_plane; add the control planes there."
        )
    ask = run or (lambda i, h, c, t: remote.run(i, h, c, t, runs_dir))
    answers = ask(inv, [first.name], command(target, kubeadm), 120)
    verdict(first.name, target, answers.get(first.name) or remote.Answer(False, "", "no answer"))


def _last_error(text: str) -> str:
    """kubeadm's own reason: the points it lists under a FATAL line ("- Specified version
    ... is too high"), else its last line that reads as an error, else its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    points = [line[2:] for line in lines if line.startswith("- ")]
    if points:
        return "; ".join(points)[:300]
    errors = [line for line in lines if line.lower().startswith(("error", "[error", "[preflight]"))]
    chosen = (errors or [line for line in lines if not line.startswith(("{", "}", '"'))] or [""])[
        -1
    ]
    return chosen[:300]
