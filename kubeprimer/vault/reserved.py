"""What the toolkit's own access depends on, so that no configuration can take it away.

`vault.init` gives the toolkit one orphan token holding the `kubeprimer-admin` policy,
issued by the token auth method. Changing that policy, removing it, or disabling the
method it came from would leave a token that can no longer repair anything, so those
are refused before any write. The policy's paths also fix how deep a KV v2 mount may
sit: one the token cannot read could never be planned again.
"""

from __future__ import annotations

ADMIN_POLICY = "kubeprimer-admin"
BUILTIN_POLICIES = frozenset({"default", "root"})
# Never managed, granted, changed or removed by a configuration file.
RESERVED_POLICIES = BUILTIN_POLICIES | {ADMIN_POLICY}
# First path segments the server keeps for itself.
RESERVED_MOUNTS = frozenset({"sys", "identity", "cubbyhole", "auth"})
# The auth method the admin token was issued by; the server refuses to disable it, and
# nothing else may be mounted there.
TOKEN_AUTH = "token"
# The admin policy grants `+/data/*` and `+/+/data/*`: one or two segments.
MAX_MOUNT_DEPTH = 2


def reserved_policy(name: str) -> bool:
    """Whether a policy name means a reserved policy; the server lowercases every name."""
    return name.strip().rstrip("/").lower() in RESERVED_POLICIES
