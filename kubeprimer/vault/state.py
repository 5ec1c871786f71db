"""What the server holds now, read through hvac, in the shapes the plan compares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LiveMount:
    path: str
    kind: str  # "kv-v2", or the engine type for anything else
    description: str
    # None: the token may not read the mount's settings (a mount it does not manage).
    max_versions: int | None


@dataclass
class Live:
    mounts: dict[str, LiveMount] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    auth: dict[str, str] = field(default_factory=dict)  # path -> type
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Longest TTL the Kubernetes auth mount hands out; roles asking more are refused.
    max_ttl_s: int = 0
    # Largest secret (its JSON) the server stores in one write.
    max_secret_bytes: int = 0


def read(client: Any, kubernetes_mount: str | None) -> Live:
    """Mounts, ACL policies, auth methods and the Kubernetes roles of one auth mount."""
    import hvac.exceptions

    live = Live()
    for path, info in client.sys.list_mounted_secrets_engines()["data"].items():
        path = path.rstrip("/")
        version = (info.get("options") or {}).get("version")
        kind = "kv-v2" if info["type"] == "kv" and version == "2" else info["type"]
        versions: int | None = 0
        if kind == "kv-v2":
            try:
                versions = client.secrets.kv.v2.read_configuration(mount_point=path)["data"][
                    "max_versions"
                ]
            except hvac.exceptions.Forbidden:
                versions = None
        live.mounts[path] = LiveMount(path, kind, info.get("description", ""), versions)
    for name in client.sys.list_acl_policies()["data"]["keys"]:
        if name != "root":
            live.policies[name] = client.sys.read_acl_policy(name)["data"]["policy"]
    live.auth = {
        p.rstrip("/"): i["type"] for p, i in client.sys.list_auth_methods()["data"].items()
    }
    tuned = kubernetes_mount if kubernetes_mount in live.auth else "token"
    live.max_ttl_s = client.sys.read_auth_method_tuning(tuned)["data"]["max_lease_ttl"]
    live.max_secret_bytes = max_secret_bytes(client)
    if kubernetes_mount and live.auth.get(kubernetes_mount) == "kubernetes":
        try:
            names = client.auth.kubernetes.list_roles(mount_point=kubernetes_mount)["keys"]
        except hvac.exceptions.InvalidPath:
            names = []
        for name in names:
            live.roles[name] = client.auth.kubernetes.read_role(name, mount_point=kubernetes_mount)
    return live


# The listener's default max_request_size; raft refuses a stored entry over its default
# max_entry_size, and KV v2 wraps the data with metadata (measured: about 230 bytes).
MAX_REQUEST_BYTES = 32 * 1024 * 1024
RAFT_ENTRY_BYTES = 1024 * 1024 - 1024


def max_secret_bytes(client: Any) -> int:
    """Raft answers for its configuration (the admin policy may read it); other storage does not."""
    raft = client.read("sys/storage/raft/configuration")
    return RAFT_ENTRY_BYTES if raft else MAX_REQUEST_BYTES - 1024


def secret_data(client: Any, mount: str, path: str) -> dict[str, str] | None:
    """The newest version's data, or None when there is none (never written, or deleted)."""
    import hvac.exceptions

    try:
        reply = client.secrets.kv.v2.read_secret_version(
            path, mount_point=mount, raise_on_deleted_version=True
        )
    except hvac.exceptions.InvalidPath:
        return None
    data: dict[str, str] = reply["data"]["data"] or {}
    return data


def secret_exists(client: Any, mount: str, path: str) -> bool:
    """Whether any version (even a deleted one) is kept under the path."""
    import hvac.exceptions

    try:
        client.secrets.kv.v2.read_secret_metadata(path, mount_point=mount)
    except hvac.exceptions.InvalidPath:
        return False
    return True


def secret_paths(client: Any, mount: str, prefix: str = "") -> list[str]:
    """Every secret path in a KV v2 mount, walking folders."""
    import hvac.exceptions

    try:
        keys = client.secrets.kv.v2.list_secrets(prefix, mount_point=mount)["data"]["keys"]
    except hvac.exceptions.InvalidPath:
        return []
    found = []
    for key in keys:
        if key.endswith("/"):
            found += secret_paths(client, mount, prefix + key)
        else:
            found.append(prefix + key)
    return found
