"""Plays escalate on their own: hosts are often reached as a sudo user, not as root.

A static check over the YAML: every play in playbooks/ that targets hosts other than
the controller sets `become: true`, and every task sent to the controller
(`delegate_to: localhost`) says `become: false`, so it never tries sudo there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.paths import PLAYBOOKS, ROLES

CONTROLLER = {"localhost", "127.0.0.1"}
PLAYBOOK_FILES = sorted(PLAYBOOKS.glob("*.yml"))
TASK_FILES = sorted(
    p
    for p in [
        *PLAYBOOKS.rglob("*.yml"),
        *ROLES.glob("*/tasks/**/*.yml"),
        *ROLES.glob("*/handlers/*.yml"),
    ]
    if "group_vars" not in p.parts
)


def targets_hosts(pattern: Any) -> bool:
    """True unless every part of the host pattern is the controller. Intersections
    (``&group``) and exclusions (``!group``) only narrow a pattern: they add no host."""
    parts = pattern if isinstance(pattern, list) else re.split(r"[:,]", str(pattern))
    added = [str(p).strip() for p in parts if str(p).strip()[:1] not in ("", "!", "&")]
    return any(p not in CONTROLLER for p in added)


def plays(path: Path) -> list[dict[str, Any]]:
    return [
        p for p in yaml.safe_load(path.read_text()) or [] if isinstance(p, dict) and "hosts" in p
    ]


def delegated_to_controller(node: Any, become: Any = None) -> Iterator[str]:
    """Names of tasks delegated to the controller without an explicit `become: false`."""
    if isinstance(node, list):
        for item in node:
            yield from delegated_to_controller(item, become)
    elif isinstance(node, dict):
        become = node.get("become", become)
        if node.get("delegate_to") in CONTROLLER and become is not False:
            yield str(node.get("name", node))
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            yield from delegated_to_controller(node.get(key), become)


@pytest.mark.parametrize("path", PLAYBOOK_FILES, ids=[p.name for p in PLAYBOOK_FILES])
def test_every_play_on_hosts_escalates(path: Path) -> None:
    missing = [
        p["name"] for p in plays(path) if targets_hosts(p["hosts"]) and p.get("become") is not True
    ]
    assert not missing, f"{path.name}: plays without `become: true`: {missing}"


def test_tasks_sent_to_the_controller_never_escalate_there() -> None:
    found = [
        f"{path.relative_to(PLAYBOOKS.parent)}: {name}"
        for path in TASK_FILES
        for name in delegated_to_controller(yaml.safe_load(path.read_text()))
    ]
    assert not found, f"delegate_to: localhost without `become: false`: {found}"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("localhost", False),
        ("etcd", True),
        ("localhost:etcd", True),
        ("kube_control_plane[0]", True),
        (["localhost"], False),
        ("etcd:!kube_node", True),
        ("localhost:&kubeprimer_stage_controller_ca", False),
        ("kube_node:&kubeprimer_stage_nodes", True),
    ],
)
def test_host_patterns_are_read_as_ansible_does(pattern: Any, expected: bool) -> None:
    assert targets_hosts(pattern) is expected
