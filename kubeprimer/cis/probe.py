"""Runs on each host (``python3`` over SSH, as root) and prints what cluster.cis reads.

Standard library only and read-only. The argument (base64 of JSON) names the paths to
stat, the folders whose every entry to stat, the files to read, and the patterns that
find more files named inside what was read (a manifest's ``--encryption-provider-config``,
the kubelet's ``clientCAFile``, etcd's ``data-dir``): those are stat'ed and read too, so
one round trip per host is enough. Secret values (encryption keys, tokens, passwords,
client keys) are blanked before anything leaves the host.
"""

from __future__ import annotations

import base64
import grp
import json
import os
import pwd
import re
import stat
import sys
from collections.abc import Callable
from typing import Any

LIMIT = 256 * 1024
ROUNDS = 3
_SECRET = re.compile(
    r"^(\s*(?:-\s+)?[\"']?(?:secret|token|password|client-key-data)[\"']?\s*:\s*)\S.*$",
    re.M | re.I,
)


def _name(lookup: Callable[[int], Any], number: int) -> str:
    try:
        return str(lookup(number)[0])
    except KeyError:
        return str(number)


def status(path: str) -> dict[str, Any] | None:
    """Mode, owner and kind of ``path``, or None when it is not there."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        return {"error": error.strerror or str(error)}
    return {
        "mode": f"{stat.S_IMODE(found.st_mode):o}",
        "owner": _name(pwd.getpwuid, found.st_uid),
        "group": _name(grp.getgrgid, found.st_gid),
        "dir": stat.S_ISDIR(found.st_mode),
    }


def tree(folder: str) -> list[dict[str, Any]]:
    """Every entry under ``folder`` (the folder too), as ``find`` lists them."""
    if not os.path.isdir(folder):
        return []
    found = [dict(status(folder) or {}, path=folder)]
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs) + sorted(files):
            path = os.path.join(root, name)
            found.append(dict(status(path) or {}, path=path))
    return found


def redacted(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + '"(redacted)"', text)


def read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return redacted(handle.read(LIMIT))


def main(wanted: dict[str, Any]) -> dict[str, Any]:
    stats = {p: status(p) for p in wanted.get("stat", [])}
    trees = {d: tree(d) for d in wanted.get("tree", [])}
    texts: dict[str, str] = {}
    errors: dict[str, str] = {}
    patterns = [re.compile(p, re.M) for p in wanted.get("follow", [])]
    pending = list(wanted.get("read", []))
    for _ in range(ROUNDS):
        named: list[str] = []
        for path in pending:
            if path in texts or path in errors:
                continue
            stats[path] = status(path)
            found = stats[path]
            if found is None or found.get("dir") or "error" in found:
                continue
            try:
                texts[path] = read(path)
            except OSError as error:
                errors[path] = error.strerror or str(error)
                continue
            named += [m.group(1) for p in patterns for m in p.finditer(texts[path])]
        pending = [p for p in named if p.startswith("/") and p not in stats]
        if not pending:
            break
        for path in pending:
            stats[path] = status(path)
    return {"stat": stats, "tree": trees, "text": texts, "errors": errors}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(base64.b64decode(sys.argv[1])))))
