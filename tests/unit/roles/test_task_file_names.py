"""Task files of a role are named by what they do: two names one letter apart
(`join.yml` beside `joins.yml`) leave the reader to open both to tell them apart."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest

from kubeprimer.paths import ROLES

ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "tasks").is_dir())


def _one_edit_apart(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def test_one_edit_apart_finds_the_old_pair() -> None:
    assert _one_edit_apart("join", "joins")
    assert not _one_edit_apart("join_node", "join_all")


@pytest.mark.parametrize("role", ROLE_DIRS, ids=[p.name for p in ROLE_DIRS])
def test_task_file_names_differ_by_more_than_a_letter(role: Path) -> None:
    stems = sorted(p.stem for p in (role / "tasks").glob("*.yml"))
    close = [(a, b) for a, b in combinations(stems, 2) if _one_edit_apart(a, b)]
    assert close == [], (
        f"{role.name}: task files {close} differ by one letter; name them by what they do"
    )
