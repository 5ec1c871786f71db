"""What one host holds, as cluster.cis reads it: where kubeadm, the kubelet and etcd keep
their files, what the probe is asked for, and readers that turn its answer into the
values the checks compare (file modes and owners, command-line flags, parsed YAML).

Paths are the ones kube-bench uses for a kubeadm cluster ($apiserverconf, $kubeletsvc,
$kubeletconf...), plus external etcd's configuration file as roles/etcd writes it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

import yaml

KUBE = "/etc/kubernetes"
PKI = f"{KUBE}/pki"
MANIFESTS = {
    name: f"{KUBE}/manifests/{name}.yaml"
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
}
KUBECONFIGS = {
    name: f"{KUBE}/{name}.conf"
    for name in ("admin", "super-admin", "scheduler", "controller-manager", "kubelet")
}
CNI = ("/etc/cni/net.d", "/var/lib/cni/networks")
# kubeadm's drop-in where kubeprimer puts it (roles/kube_artifacts), then where the
# Debian and RPM packages put it.
KUBELET_SERVICE = (
    "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
)
KUBELET_ENV = ("/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet")
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
KUBELET_CA = f"{PKI}/ca.crt"
PROXY_KUBECONFIG = "/var/lib/kube-proxy/kubeconfig.conf"
# roles/etcd: etcd --config-file /etc/etcd/etcd.conf.yml
ETCD_CONFIG = "/etc/etcd/etcd.conf.yml"
ETCD_DATA_DIR = "/var/lib/etcd"
# Files named inside the files read: followed by the probe on the host.
_FILE_FLAGS = (
    "admission-control-config-file|authentication-config|authorization-config|"
    "encryption-provider-config|audit-policy-file|data-dir|config|client-ca-file"
)
FOLLOW = (
    rf"--(?:{_FILE_FLAGS})[= ]\"?(/[^\s\"',]+)",
    r"^\s*(?:clientCAFile|data-dir|path|kubeconfig):\s*[\"']?(/[^\s\"']+)",
)


def wanted() -> dict[str, Any]:
    """The probe's argument: the same on every host; each reports what it has."""
    return {
        "stat": [*KUBECONFIGS.values(), *KUBELET_SERVICE, PROXY_KUBECONFIG, ETCD_DATA_DIR],
        "tree": [PKI, *CNI],
        "read": [
            *MANIFESTS.values(),
            *KUBELET_SERVICE,
            *KUBELET_ENV,
            KUBELET_CONFIG,
            KUBELET_CA,
            ETCD_CONFIG,
        ],
        "follow": list(FOLLOW),
    }


@dataclass(frozen=True)
class Stat:
    path: str
    mode: int
    owner: str
    group: str
    directory: bool = False

    @property
    def ownership(self) -> str:
        return f"{self.owner}:{self.group}"

    def within(self, bits: int) -> bool:
        """kube-bench's ``bitmask``: no permission beyond ``bits`` (600 allows 400)."""
        return self.mode & ~bits == 0


def _stat(path: str, found: Any) -> Stat | None:
    if not isinstance(found, dict) or "mode" not in found:
        return None
    return Stat(
        path, int(found["mode"], 8), str(found["owner"]), str(found["group"]), bool(found["dir"])
    )


class Flags(dict[str, str]):
    """A command line's ``--name=value`` flags, the last of a repeated name winning as
    the components' flag parsing does; a bare ``--name`` is "true"."""

    @classmethod
    def parse(cls, argv: list[str]) -> Flags:
        flags = cls()
        for i, arg in enumerate(argv):
            if not arg.startswith("--"):
                continue
            name, sep, value = arg[2:].partition("=")
            if not sep:
                following = argv[i + 1] if i + 1 < len(argv) else ""
                value = following if following and not following.startswith("-") else "true"
            flags[name] = value
        return flags

    def items_of(self, name: str) -> list[str]:
        """A comma-separated flag's items (admission plugins, authorization modes)."""
        return [v.strip() for v in self.get(name, "").split(",") if v.strip()]


def _load(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _env(text: str) -> dict[str, str]:
    """``NAME="value"`` lines of an environment file, and a drop-in's
    ``Environment="NAME=value"`` ones."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Environment="):
            line = line.partition("=")[2]
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        for word in words:
            name, sep, value = word.partition("=")
            if sep and name.replace("_", "").isalnum():
                found[name] = value
    return found


@dataclass
class HostFacts:
    """The probe's answer from one host, with readers for the checks."""

    stats: dict[str, Stat | None] = field(default_factory=dict)
    trees: dict[str, list[Stat]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Parsed once: every check of a host reads the same few files.
    _parsed: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_probe(cls, answer: dict[str, Any]) -> HostFacts:
        stats = {p: _stat(p, s) for p, s in (answer.get("stat") or {}).items()}
        trees = {
            folder: [s for e in entries if (s := _stat(str(e.get("path")), e))]
            for folder, entries in (answer.get("tree") or {}).items()
        }
        return cls(stats, trees, dict(answer.get("text") or {}), dict(answer.get("errors") or {}))

    def stat(self, path: str) -> Stat | None:
        return self.stats.get(path)

    def document(self, path: str) -> Any:
        if path not in self._parsed:
            text = self.texts.get(path)
            self._parsed[path] = None if text is None else _load(text)
        return self._parsed[path]

    def manifest_flags(self, component: str) -> Flags | None:
        """The flags of a static pod's first container (command, then args), or None
        when the manifest is not on the host or is not a pod."""
        pod = self.document(MANIFESTS[component])
        try:
            container = pod["spec"]["containers"][0]
        except (TypeError, KeyError, IndexError):
            return None
        argv = [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]
        return Flags.parse(argv)

    def kubelet_service(self) -> str | None:
        return next((p for p in KUBELET_SERVICE if self.stat(p) is not None), None)

    def kubelet_flags(self) -> Flags:
        if "kubelet flags" not in self._parsed:
            self._parsed["kubelet flags"] = self._kubelet_flags()
        return Flags(self._parsed["kubelet flags"])

    def _kubelet_flags(self) -> Flags:
        """The kubelet's command line as systemd builds it from kubeadm's drop-in:
        KUBELET_KUBECONFIG_ARGS, KUBELET_CONFIG_ARGS, then kubeadm-flags.env's
        KUBELET_KUBEADM_ARGS and /etc/default/kubelet's KUBELET_EXTRA_ARGS."""
        env: dict[str, str] = {}
        service = self.kubelet_service()
        for path in ([service] if service else []) + list(KUBELET_ENV):
            env.update(_env(self.texts.get(path, "")))
        names = (
            "KUBELET_KUBECONFIG_ARGS",
            "KUBELET_CONFIG_ARGS",
            "KUBELET_KUBEADM_ARGS",
            "KUBELET_EXTRA_ARGS",
        )
        argv = [w for n in names for w in shlex.split(env.get(n, ""))]
        return Flags.parse(argv)

    def kubelet_config_path(self) -> str:
        return self.kubelet_flags().get("config", KUBELET_CONFIG)

    def kubelet_config(self) -> dict[str, Any] | None:
        found = self.document(self.kubelet_config_path())
        return found if isinstance(found, dict) else None

    def etcd_flags(self, external: bool) -> Flags | None:
        """etcd's settings as flags: the static pod's command (stacked), or the
        configuration file roles/etcd writes (external), its TLS sections flattened to
        the flag names (client-transport-security.cert-file is --cert-file)."""
        if not external:
            return self.manifest_flags("etcd")
        config = self.document(ETCD_CONFIG)
        if not isinstance(config, dict):
            return None
        flags = Flags()
        for name, value in config.items():
            if isinstance(value, dict):
                prefix = "peer-" if name == "peer-transport-security" else ""
                for key, inner in value.items():
                    flags[prefix + str(key)] = _flag_text(inner)
            else:
                flags[str(name)] = _flag_text(value)
        return flags


def _flag_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
