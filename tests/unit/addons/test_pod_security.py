"""kubeprimer.addons.pod_security against the Pod Security Standards' rules, one field at
a time: a pod that meets restricted, then each change that a level must refuse."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kubeprimer.addons import pod_security

RESTRICTED_POD: dict[str, Any] = {
    "metadata": {"annotations": {}},
    "spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "app",
                "image": "example.org/app:1",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                },
            }
        ],
        "volumes": [{"name": "cache", "emptyDir": {}}],
    },
}

Change = Callable[[dict[str, Any]], None]


def spec(pod: dict[str, Any]) -> dict[str, Any]:
    return pod["spec"]  # type: ignore[no-any-return]


def container(pod: dict[str, Any]) -> dict[str, Any]:
    return spec(pod)["containers"][0]["securityContext"]  # type: ignore[no-any-return]


# Each breaks baseline (and so restricted too).
BASELINE: list[tuple[str, Change]] = [
    ("hostNetwork", lambda p: spec(p).update(hostNetwork=True)),
    ("hostPID", lambda p: spec(p).update(hostPID=True)),
    ("hostIPC", lambda p: spec(p).update(hostIPC=True)),
    ("privileged", lambda p: container(p).update(privileged=True)),
    ("SYS_ADMIN", lambda p: container(p)["capabilities"].update(add=["SYS_ADMIN"])),
    ("hostPath", lambda p: spec(p)["volumes"].append({"name": "h", "hostPath": {"path": "/"}})),
    (
        "hostPort",
        lambda p: spec(p)["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 80}]),
    ),
    ("Unconfined", lambda p: container(p).update(seccompProfile={"type": "Unconfined"})),
    ("appArmorProfile", lambda p: container(p).update(appArmorProfile={"type": "Unconfined"})),
    (
        "annotation",
        lambda p: p["metadata"]["annotations"].update(
            {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}
        ),
    ),
    ("seLinuxOptions.type", lambda p: container(p).update(seLinuxOptions={"type": "spc_t"})),
    ("seLinuxOptions.user", lambda p: container(p).update(seLinuxOptions={"user": "root"})),
    ("procMount", lambda p: container(p).update(procMount="Unmasked")),
    ("hostProcess", lambda p: container(p).update(windowsOptions={"hostProcess": True})),
    (
        "kernel.msgmax",
        lambda p: spec(p)["securityContext"].update(
            sysctls=[{"name": "kernel.msgmax", "value": "1"}]
        ),
    ),
]
# Each meets baseline but breaks restricted.
RESTRICTED: list[tuple[str, Change]] = [
    ("allowPrivilegeEscalation", lambda p: container(p).pop("allowPrivilegeEscalation")),
    ("runAsNonRoot", lambda p: spec(p)["securityContext"].pop("runAsNonRoot")),
    ("runAsUser 0", lambda p: container(p).update(runAsUser=0)),
    ("seccompProfile", lambda p: spec(p)["securityContext"].pop("seccompProfile")),
    ("drop", lambda p: container(p)["capabilities"].update(drop=["NET_RAW"])),
    ("CHOWN", lambda p: container(p)["capabilities"].update(add=["CHOWN"])),
    (
        "nfs",
        lambda p: spec(p)["volumes"].append({"name": "n", "nfs": {"server": "s", "path": "/"}}),
    ),
]


def changed(change: Change) -> dict[str, Any]:
    pod = copy.deepcopy(RESTRICTED_POD)
    change(pod)
    return pod


def test_the_reference_pod_meets_restricted() -> None:
    assert pod_security.violations(RESTRICTED_POD, "restricted") == []


@pytest.mark.parametrize(("expected", "change"), BASELINE, ids=[b[0] for b in BASELINE])
def test_baseline_refuses(expected: str, change: Change) -> None:
    pod = changed(change)
    assert any(expected in v for v in pod_security.violations(pod, "baseline"))
    assert any(expected in v for v in pod_security.violations(pod, "restricted"))
    assert pod_security.violations(pod, "privileged") == []


@pytest.mark.parametrize(("expected", "change"), RESTRICTED, ids=[r[0] for r in RESTRICTED])
def test_restricted_refuses_what_baseline_admits(expected: str, change: Change) -> None:
    pod = changed(change)
    assert pod_security.violations(pod, "baseline") == []
    assert any(expected in v for v in pod_security.violations(pod, "restricted"))


def test_container_settings_override_the_pods() -> None:
    pod = changed(lambda p: spec(p)["securityContext"].update(runAsNonRoot=False))
    container(pod).update(runAsNonRoot=True)
    assert pod_security.violations(pod, "restricted") == []


def test_safe_sysctls_and_runtime_apparmor_are_baseline() -> None:
    pod = changed(
        lambda p: spec(p)["securityContext"].update(
            sysctls=[{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]
        )
    )
    pod["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/app"] = (
        "runtime/default"
    )
    assert pod_security.violations(pod, "restricted") == []


def test_templates_and_levels() -> None:
    deployment = {"kind": "Deployment", "spec": {"template": RESTRICTED_POD}}
    cronjob = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": RESTRICTED_POD}}}}
    assert pod_security.pod_template(deployment) is RESTRICTED_POD
    assert pod_security.pod_template(cronjob) is RESTRICTED_POD
    assert pod_security.pod_template({"kind": "Service", "spec": {}}) is None
    assert pod_security.namespace_level(None) == "baseline"
    labelled = {"metadata": {"labels": {pod_security.ENFORCE_LABEL: "restricted"}}}
    assert pod_security.namespace_level(labelled) == "restricted"
    with pytest.raises(ValueError, match="strict"):
        pod_security.namespace_level(
            {"metadata": {"labels": {pod_security.ENFORCE_LABEL: "strict"}}}
        )
