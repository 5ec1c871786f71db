"""Which paths a policy lets its holders change, read from its HCL (or JSON) text.

A policy that lets pods rewrite the `kubeprimer-admin` policy or revoke tokens by
accessor would hand the toolkit's own access to whoever holds it: refused like a
change to that policy itself. The server has already parsed the text (plan asks it), so
this only needs the `path "..." { capabilities = [...] }` blocks.
"""

from __future__ import annotations

import json
import re

from kubeprimer.vault.reserved import ADMIN_POLICY

PATH_BLOCK = re.compile(r'path\s+"([^"]*)"\s*\{(.*?)\}', re.S)
PATH_START = re.compile(r'(^|[\s;}])path\s+"')
CAPABILITIES = re.compile(r"capabilities\s*=\s*\[([^\]]*)\]", re.S)
WRITES = frozenset({"create", "update", "patch", "delete", "sudo"})
# What the admin token depends on: its policy, the method that issued it, its revocation.
GUARDED = (
    f"sys/policies/acl/{ADMIN_POLICY}",
    f"sys/policy/{ADMIN_POLICY}",
    "sys/auth/token",
    "sys/auth/token/tune",
    "auth/token/revoke",
    "auth/token/revoke-accessor",
    "auth/token/revoke-orphan",
)


def blocks(text: str) -> dict[str, set[str]]:
    """Each path pattern and its capabilities."""
    try:
        parsed = json.loads(text)
    except ValueError:
        found: dict[str, set[str]] = {}
        for pattern, body in PATH_BLOCK.findall(text):
            caps = CAPABILITIES.search(body)
            names = re.findall(r'"([^"]*)"', caps.group(1)) if caps else []
            found.setdefault(pattern, set()).update(names)
        return found
    paths = parsed.get("path") if isinstance(parsed, dict) else None
    if not isinstance(paths, dict):
        return {}
    return {
        str(p): {str(c) for c in (v or {}).get("capabilities", [])}
        for p, v in paths.items()
        if isinstance(v, dict)
    }


def grants_anything(text: str) -> bool:
    """Whether the text has a path block at all (a broken one included: the server says why)."""
    try:
        json.loads(text)
    except ValueError:
        return PATH_START.search(text) is not None
    return bool(blocks(text))


def covers(pattern: str, path: str) -> bool:
    """Vault's path matching: `+` is one segment, a final `*` any suffix."""
    glob = pattern.endswith("*")
    parts = [
        "[^/]+" if part == "+" else re.escape(part) for part in pattern.removesuffix("*").split("/")
    ]
    regex = "/".join(parts) + (".*" if glob else "")
    return re.fullmatch(regex, path) is not None


def guarded_writes(text: str) -> list[str]:
    """The guarded paths this policy lets its holders change, each with the pattern that does."""
    found = []
    for pattern, caps in blocks(text).items():
        if caps & WRITES and "deny" not in caps:
            found += [f"{path} (through {pattern!r})" for path in GUARDED if covers(pattern, path)]
    return found
