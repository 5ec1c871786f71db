"""One digest of everything a run's outcome depends on, for converge records.

A converge record (plugins/modules/converge_state.py) holds the state a stage left on
a host: what is there, not what the roles would put there now. A new sysctl value in
the inventory, or a role that writes a file differently, leaves the host matching its
record, so the record alone would skip the very run that applies the change. The
record therefore also holds this digest, and a stage is skipped only while it is the
same: editing a role (its declaration in vars/converge.yml included), the playbook,
plugins/, ansible.cfg, the inventory or its group_vars and host_vars makes every stage
run again. A role's tests (its molecule folder) and its documentation do not reach a
host, so editing them keeps the records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kubeprimer.paths import ANSIBLE_CFG, PLAYBOOKS, PLUGINS, ROLES

# The folders Ansible reads variables from beside an inventory file.
_INVENTORY_VARS = ("group_vars", "host_vars")
# Folders under a source that never reach a host.
_NOT_INPUT_DIRS = {"__pycache__", "molecule"}


def fingerprint(inventory: Path, extravars: dict[str, Any] | None = None) -> str:
    digest = hashlib.sha256()
    sources = [ROLES, PLAYBOOKS, PLUGINS, ANSIBLE_CFG, inventory]
    sources += [inventory.parent / name for name in _INVENTORY_VARS]
    for path in input_files(sources):
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(json.dumps(extravars or {}, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def input_files(sources: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for source in sources:
        if source.is_file():
            found.append(source)
        elif source.is_dir():
            found += [p for p in source.rglob("*") if p.is_file() and _is_input(p, source)]
    return sorted(found)


def _is_input(path: Path, source: Path) -> bool:
    # Hidden folders hold state (the CA under playbooks/.pki), not inputs.
    parts = path.relative_to(source).parts
    if any(part.startswith(".") or part in _NOT_INPUT_DIRS for part in parts):
        return False
    return path.suffix != ".md"
