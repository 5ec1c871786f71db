"""Role READMEs point at the argument specs instead of repeating them in a table.

A hand-kept table drifts from `meta/argument_specs.yml`; `ansible-doc -t role` prints
the specs themselves, so each README names that command and the command must work
offline for every role.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.paths import ROLES, ROOT

ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").is_file())
TABLE_ROW = re.compile(r"^\|(?P<first>[^|]*)\|")


def _options(role: Path) -> dict[str, Any]:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    found: dict[str, Any] = {}
    for entry in specs.values():
        found.update(entry.get("options") or {})
    return found


def test_roles_found() -> None:
    assert ROLE_DIRS, "no role with meta/argument_specs.yml found"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=[p.name for p in ROLE_DIRS])
def test_readme_points_at_ansible_doc(role: Path) -> None:
    readme = (role / "README.md").read_text()
    section = readme.split("## Role Variables\n", 1)
    assert len(section) == 2, f"{role.name}/README.md has no '## Role Variables' section"
    assert f"`ansible-doc -t role -r roles {role.name}`" in section[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("role", ROLE_DIRS, ids=[p.name for p in ROLE_DIRS])
def test_readme_tables_do_not_repeat_the_specs(role: Path) -> None:
    options = _options(role)
    repeated = []
    for line in (role / "README.md").read_text().splitlines():
        row = TABLE_ROW.match(line)
        if row and set(re.findall(r"`([a-z0-9_]+)`", row["first"])) & set(options):
            repeated.append(line)
    assert repeated == [], f"{role.name}/README.md repeats argument specs in a table"


def test_ansible_doc_renders_every_role_offline() -> None:
    ansible_doc = Path(sys.executable).with_name("ansible-doc")
    names = [p.name for p in ROLE_DIRS]
    done = subprocess.run(
        [str(ansible_doc), "-t", "role", "-r", "roles", "--json", *names],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    for role in ROLE_DIRS:
        entry_points = docs[role.name]["entry_points"]
        shown = {name for entry in entry_points.values() for name in entry.get("options") or {}}
        assert shown == set(_options(role)), role.name
