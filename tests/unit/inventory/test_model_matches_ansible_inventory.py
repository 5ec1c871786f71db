"""The Python inventory model merges variables exactly as Ansible does.

kubeprimer validates an inventory and connects to its hosts from its own reading of it
(kubeprimer/inventory/model.py), while the playbooks get Ansible's. Every fixture
inventory of the repository is read both ways and compared host by host: the real
`ansible-inventory --list` (and `--host` for one host) against the model's hosts, their
variables and their groups.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.inventory.model import load
from kubeprimer.lab import inventory as lab_inventory
from kubeprimer.paths import ANSIBLE_CFG, ROOT
from tests.unit.cluster.conftest import write_inventory
from tests.unit.cluster.scenarios import SCENARIOS
from tests.unit.inventory.test_validation import GOOD_HOSTS, write
from tests.unit.lab.test_lab_inventory import lab

ANSIBLE_INVENTORY = str(Path(sys.executable).with_name("ansible-inventory"))


def _precedence(base: Path) -> Path:
    """Every rule of Ansible's merge that an inventory can meet, in one inventory."""
    (base / "hosts.yml").write_text(
        """\
all:
  vars: {a: all-inline, b: all-inline, shadow: all-inline}
  children:
    parent:
      vars: {a: parent-inline, p: parent-inline, shadow: parent-inline}
      children:
        child:
          vars: {a: child-inline, shadow: child-inline, c: child-inline}
          hosts:
            h1: {hv: child-h1, hc: child}
            h2:
    other:
      hosts:
        h1: {hv: other-h1, ho: other-only}
      vars: {a: other-inline, o: other-inline}
    late:
      vars: {ansible_group_priority: 5, a: late-inline, rank: late}
      hosts:
        h3:
        h9:
    early:
      vars: {ansible_group_priority: 20, a: early-inline, rank: early}
      hosts:
        h3:
    zeta:
      vars: {rank: zeta}
      hosts:
        h7:
    alpha:
      vars: {rank: alpha}
      hosts:
        h7:
        h5: &base {x: 1, y: 1, nested: {k: v}}
    parent2:
      children:
        child:
          vars: {c2: second-parent}
  hosts:
    h4: {own: h4}
    h6: {<<: *base, z: 2}
    node[1:3]: {ranged: true}
    db-[a:b].example.org:
    h8:2222: {from_port: true}
    h9:2200:
    "[2001:db8::9]:2201":
"""
    )
    files = {
        "group_vars/all/10-first.yml": "b: gv-all-first\nf: 1\nshadow: all-file\n",
        "group_vars/all/20-second.yml": "b: gv-all-second\n",
        "group_vars/all/noext": "e: no-extension\n",
        "group_vars/all/.hidden.yml": "hidden: true\n",
        "group_vars/all/backup.yml~": "backup: true\n",
        "group_vars/all/sub.d/skipped.yml": "dotted_folder: true\n",
        "group_vars/all/deeper/more.yaml": "deep: true\n",
        "group_vars/all/notes.txt": "txt: true\n",
        "group_vars/all.yml": "shadowed_by_the_folder: true\n",
        "group_vars/parent.yml": "shadow: parent-file\np: parent-file\n",
        "group_vars/child.yaml": "c: child-file\n",
        "group_vars/child.json": '{"c": "never: child.yaml comes first"}',
        "group_vars/other/main.yml": "o: other-folder\n",
        "group_vars/other/sub/x.yml": "o: other-sub\nos: 1\n",
        "group_vars/late.json": '{"rank_file": "late"}',
        "group_vars/early.yml": "rank_file: early\n",
        "group_vars/ungrouped.yml": "lonely: true\n",
        "host_vars/h2/main.yml": "hv: file-h2\n",
        "host_vars/h1.json": '{"hj": 1, "hv": "file-h1"}',
        "host_vars/h4": "own: h4-file\n",
    }
    for name, text in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)
    return base / "hosts.yml"


def _lab(base: Path) -> Path:
    return lab_inventory.write(base, lab(4), base / "id_ed25519")


def _scenario(name: str) -> Callable[[Path], Path]:
    def write(base: Path) -> Path:
        return write_inventory(base, SCENARIOS[name])

    return write


FIXTURES: dict[str, Callable[[Path], Path]] = {
    "sample": lambda _: ROOT / "inventories" / "sample" / "hosts.yml",
    "lab": _lab,
    "precedence": _precedence,
    "validation": lambda base: write(base, GOOD_HOSTS, {"kube_cni": "calico"}),
    **{f"cluster-{name}": _scenario(name) for name in SCENARIOS},
}


def _ansible_inventory(path: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [ANSIBLE_INVENTORY, "-i", str(path), *args],
        env={**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_CFG)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _members(listing: dict[str, Any], group: str) -> set[str]:
    entry = listing.get(group, {})
    found = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        found |= _members(listing, child)
    return found


@pytest.fixture(scope="module")
def read_both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Each fixture inventory's path and its `ansible-inventory --list`, run side by side."""
    paths = {name: make(tmp_path_factory.mktemp(name)) for name, make in FIXTURES.items()}
    with ThreadPoolExecutor(max_workers=4) as pool:
        listed = dict(
            zip(
                paths,
                pool.map(lambda p: _ansible_inventory(p, "--list"), paths.values()),
                strict=True,
            )
        )
    return {name: (paths[name], listed[name]) for name in paths}


def test_the_model_is_compared_with_every_fixture() -> None:
    assert {"sample", "lab", "precedence"} <= set(FIXTURES)
    assert len(SCENARIOS) >= 3


@pytest.mark.parametrize("name", list(FIXTURES))
def test_host_variables_match(name: str, read_both: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    path, listing = read_both[name]
    model = load(path)
    assert model.load_problems == []
    expected = listing["_meta"]["hostvars"]
    assert sorted(model.hosts) == sorted(expected)
    for host, variables in expected.items():
        assert model.hosts[host].vars == variables, host


@pytest.mark.parametrize("name", list(FIXTURES))
def test_group_members_match(name: str, read_both: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    path, listing = read_both[name]
    model = load(path)
    groups = [g for g in listing if g != "_meta"]
    for group in groups:
        assert set(model.groups.get(group, [])) == _members(listing, group), group
    for host in model.hosts.values():
        expected = {g for g in groups if g != "all" and host.name in _members(listing, g)}
        assert host.groups == expected, host.name


def test_the_precedence_fixture_meets_each_rule(
    read_both: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    """The comparison above is only as good as this fixture: each rule changes a value."""
    path, _ = read_both["precedence"]
    hosts = load(path).hosts
    assert hosts["h1"].vars["shadow"] == "parent-file"  # any group_vars file beats inline vars
    assert hosts["h3"].vars["shadow"] == "all-file"
    assert hosts["h1"].vars["hv"] == "file-h1"  # host_vars last
    assert hosts["h2"].vars["a"] == "child-inline"  # deeper groups win
    assert hosts["h3"].vars["rank"] == "early"  # a higher priority wins at one depth
    assert hosts["h3"].vars["rank_file"] == "early"
    assert hosts["h7"].vars["rank"] == "zeta"  # then the name
    assert hosts["h4"].vars["own"] == "h4-file"  # a host_vars file without extension
    assert hosts["h4"].vars["lonely"] is True and hosts["h4"].groups == {"ungrouped"}
    assert hosts["h6"].vars["nested"] == {"k": "v"}  # a YAML merge key
    assert hosts["h1"].vars["e"] == "no-extension"
    assert "shadowed_by_the_folder" not in hosts["h1"].vars
    assert {"hidden", "backup", "dotted_folder", "txt"}.isdisjoint(hosts["h1"].vars)
    assert hosts["h1"].vars["deep"] is True
    assert "ansible_group_priority" not in hosts["h3"].vars
    assert hosts["node2"].vars["ranged"] is True and "db-b.example.org" in hosts
    assert hosts["h8"].vars["ansible_port"] == 2222
    assert "ansible_port" not in hosts["h9"].vars  # named first without a port


def test_one_host_matches_ansible_inventory_host(
    read_both: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    path, _ = read_both["precedence"]
    for host in ("h1", "h4"):
        assert load(path).hosts[host].vars == _ansible_inventory(path, "--host", host), host


def test_sample_inventory_group_vars_match_ansible(
    read_both: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    """The settings kubeprimer reads from `all` are the ones every host gets."""
    path, listing = read_both["sample"]
    settings = load(path).group_vars["all"]
    for variables in listing["_meta"]["hostvars"].values():
        assert {k: variables[k] for k in settings} == settings
    assert yaml.safe_load((ROOT / "inventories" / "sample" / "hosts.yml").read_text())
