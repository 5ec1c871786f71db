"""The Pod Security Standards' baseline and restricted rules, over a rendered pod template.

The API server's Pod Security admission judges every pod by its namespace's
``pod-security.kubernetes.io/enforce`` label, and the cluster's AdmissionConfiguration
enforces ``baseline`` where a namespace has no label. This module applies the same
rules (the Pod Security Standards' field list, policy version latest) to the pod
templates an addon renders, so that an addon that admission would refuse fails a test
instead of a rollout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

LEVELS = ("privileged", "baseline", "restricted")
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
# What the cluster's AdmissionConfiguration enforces in a namespace without the label.
CLUSTER_DEFAULT = "baseline"

POD_KINDS = {"Pod"}
TEMPLATE_KINDS = {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"}

_BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}
_SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
_APPARMOR_TYPES = {"RuntimeDefault", "Localhost"}
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
_SECCOMP_TYPES = {"RuntimeDefault", "Localhost"}


def namespace_level(namespace: dict[str, Any] | None) -> str:
    """The level admission enforces in this Namespace object (the cluster default without one)."""
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    level = str(labels.get(ENFORCE_LABEL, CLUSTER_DEFAULT))
    if level not in LEVELS:
        raise ValueError(f"{ENFORCE_LABEL}={level} is not one of {', '.join(LEVELS)}")
    return level


def pod_template(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod (metadata and spec) an object runs, or None for objects that run none."""
    kind = obj.get("kind")
    if kind in POD_KINDS:
        return obj
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif kind not in TEMPLATE_KINDS:
        return None
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def violations(pod: dict[str, Any], level: str) -> list[str]:
    """What in the pod (metadata and spec) the level forbids; [] when admission would admit it."""
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level}")
    if level == "privileged":
        return []
    found = list(_baseline(pod))
    if level == "restricted":
        found += _restricted(pod.get("spec") or {})
    return found


def _containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _context(container: dict[str, Any]) -> dict[str, Any]:
    return container.get("securityContext") or {}


def _baseline(pod: dict[str, Any]) -> Iterator[str]:
    spec = pod.get("spec") or {}
    pod_context = spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            yield f"{key}: true"
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            yield f"volume {volume.get('name')}: hostPath"
    for sysctl in pod_context.get("sysctls") or []:
        if sysctl.get("name") not in _SAFE_SYSCTLS:
            yield f"sysctl {sysctl.get('name')} is not a safe sysctl"
    yield from _baseline_context(pod_context, "pod")
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    for key, value in annotations.items():
        if key.startswith(_APPARMOR_ANNOTATION) and not (
            value == "runtime/default" or str(value).startswith("localhost/")
        ):
            yield f"annotation {key}: {value}"
    for container in _containers(spec):
        where = f"container {container.get('name')}"
        context = _context(container)
        yield from _baseline_context(context, where)
        if context.get("privileged"):
            yield f"{where}: privileged"
        if context.get("procMount", "Default") != "Default":
            yield f"{where}: procMount {context['procMount']}"
        added = set((context.get("capabilities") or {}).get("add") or [])
        if extra := sorted(added - _BASELINE_CAPABILITIES):
            yield f"{where}: adds capabilities {', '.join(extra)}"
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                yield f"{where}: hostPort {port['hostPort']}"


def _baseline_context(context: dict[str, Any], where: str) -> Iterator[str]:
    """Rules that apply to the pod's and each container's securityContext alike."""
    if (context.get("windowsOptions") or {}).get("hostProcess"):
        yield f"{where}: windowsOptions.hostProcess"
    seccomp = (context.get("seccompProfile") or {}).get("type")
    if seccomp == "Unconfined":
        yield f"{where}: seccompProfile Unconfined"
    apparmor = (context.get("appArmorProfile") or {}).get("type")
    if apparmor is not None and apparmor not in _APPARMOR_TYPES:
        yield f"{where}: appArmorProfile {apparmor}"
    selinux = context.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in _SELINUX_TYPES:
        yield f"{where}: seLinuxOptions.type {selinux['type']}"
    for key in ("user", "role"):
        if selinux.get(key):
            yield f"{where}: seLinuxOptions.{key} is set"


def _restricted(spec: dict[str, Any]) -> Iterator[str]:
    pod_context = spec.get("securityContext") or {}
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if kinds - _RESTRICTED_VOLUMES:
            yield f"volume {volume.get('name')}: {', '.join(sorted(kinds))} is not allowed"
    if pod_context.get("runAsUser") == 0:
        yield "pod: runAsUser 0"
    pod_seccomp = (pod_context.get("seccompProfile") or {}).get("type")
    for container in _containers(spec):
        where = f"container {container.get('name')}"
        context = _context(container)
        if context.get("allowPrivilegeEscalation") is not False:
            yield f"{where}: allowPrivilegeEscalation is not false"
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if non_root is not True:
            yield f"{where}: runAsNonRoot is not true"
        if context.get("runAsUser") == 0:
            yield f"{where}: runAsUser 0"
        seccomp = (context.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in _SECCOMP_TYPES:
            yield f"{where}: seccompProfile is not RuntimeDefault or Localhost"
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            yield f"{where}: capabilities.drop does not include ALL"
        if extra := sorted(set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}):
            yield f"{where}: adds capabilities {', '.join(extra)}"
