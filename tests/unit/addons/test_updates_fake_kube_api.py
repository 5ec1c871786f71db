"""Installed addons against their pins, read from FakeKubeApi (tests/doubles), a test double
of the Kubernetes API, through the real ``kubernetes`` client: ``updates.pending`` (the
cluster.upgrade plan lists it) and the pinned column and flag of ``addons.status``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from doubles.fake_kube_api import FakeKubeApi
from rich.console import Console

from kubeprimer import output
from kubeprimer.addons import actions, catalog, record, status, updates
from kubeprimer.addons.install import Options
from kubeprimer.addons.kube import connect
from kubeprimer.inventory import model
from tests.programs import run_program

CLUSTER = {"kube_node_cidr": "192.168.10.0/24", "addons_pool_addresses": ["192.168.10.240/28"]}


@pytest.fixture
def addons_root(samples: Path, tmp_path: Path) -> Path:
    """A copy of the sample addons, whose pins a test may move."""
    root = tmp_path / "addons"
    shutil.copytree(samples, root)
    return root


def pin(root: Path, addon: str, version: str) -> None:
    path = root / addon / "addon.yml"
    text = path.read_text()
    old = f'version: "{catalog.get(addon, root).version}"'
    assert old in text
    path.write_text(text.replace(old, f'version: "{version}"'))


def installed_web(root: Path, kubeconfig: Path) -> None:
    """web installed for real (its record says 1.2.3), then one record of an addon
    this checkout no longer carries."""
    web = catalog.get("web", root)
    actions.install_many(
        [web], CLUSTER, kubeconfig, Options(timeout=5, poll=0.01), Console(file=StringIO())
    )
    record.write(connect(kubeconfig), "retired", "0.9.0", [])


def test_nothing_is_pending_while_every_installed_addon_is_at_its_pin(
    addons_root: Path, kubeconfig: Path
) -> None:
    installed_web(addons_root, kubeconfig)
    assert updates.pending(api=connect(kubeconfig), root=addons_root) == []


def test_a_moved_pin_is_pending_with_both_versions(addons_root: Path, kubeconfig: Path) -> None:
    installed_web(addons_root, kubeconfig)
    pin(addons_root, "web", "1.3.0")
    pin(addons_root, "pool", "0.2.0")  # not installed: nothing to update
    assert updates.pending(kubeconfig=kubeconfig, root=addons_root) == [
        updates.Update("web", "1.2.3", "1.3.0")
    ]


def test_pending_finds_the_admin_kubeconfig_beside_the_inventory(
    addons_root: Path, kubeconfig: Path, tmp_path: Path
) -> None:
    installed_web(addons_root, kubeconfig)
    pin(addons_root, "web", "1.1.0")  # a pin moved back is pending too: install says so
    site = tmp_path / "site"
    (site / "artifacts").mkdir(parents=True)
    shutil.copy(kubeconfig, site / "artifacts" / "admin.conf")
    (site / "hosts.yml").write_text(
        "all:\n  children:\n    kube_control_plane:\n      hosts:\n"
        "        cp1: {ansible_host: 192.0.2.10}\n"
    )
    inv = model.load(site / "hosts.yml")
    assert updates.pending(inv, root=addons_root) == [updates.Update("web", "1.2.3", "1.1.0")]


def test_status_rows_carry_the_pin_and_the_flag(addons_root: Path, kubeconfig: Path) -> None:
    installed_web(addons_root, kubeconfig)
    pin(addons_root, "web", "1.3.0")
    rows = {s.addon: s for s in status.status(connect(kubeconfig), updates.pins(addons_root))}
    assert (rows["web"].version, rows["web"].pinned, rows["web"].update) == ("1.2.3", "1.3.0", True)
    # No longer carried: no pin, and nothing to update to.
    assert (rows["retired"].pinned, rows["retired"].update) == (None, False)


def test_status_table_shows_installed_and_pinned_and_says_what_to_run() -> None:
    data = {
        "addons": [
            _row("metallb", "0.14.9", "0.15.3", update=True),
            _row("nfs", "4.13.6", "4.13.6", update=False),
            _row("retired", "0.9.0", None, update=False),
        ],
        "ready": True,
    }
    out = Console(file=StringIO(), width=200)
    actions.show_status(data, out)
    written: Any = out.file
    lines = written.getvalue().splitlines()
    assert lines[0].split()[:3] == ["ADDON", "INSTALLED", "PINNED"]
    assert lines[1].split()[:5] == ["metallb", "0.14.9", "0.15.3", "(update)", "3"]
    assert lines[2].split()[:4] == ["nfs", "4.13.6", "4.13.6", "3"]
    assert lines[3].split()[:4] == ["retired", "0.9.0", "-", "3"]
    assert lines[4] == (
        "Not at their pinned version: metallb; invoke addons.install NAME "
        "(app.deploy NAME for an app) installs the pin."
    )
    # On a terminal the flagged pin is yellow.
    cell = actions.pinned_cell("0.15.3", True)
    assert str(cell.style) == "yellow" and cell.plain == "0.15.3 (update)"
    unpinned = output.Listing(("pinned",), rows=[[actions.pinned_cell(None, False)]])
    assert output.plain_lines(unpinned)[1] == "-"


def _row(name: str, version: str, pinned: str | None, update: bool) -> dict[str, object]:
    return {
        "name": name,
        "version": version,
        "objects": 3,
        "workloads_ready": 1,
        "workloads": 1,
        "missing": [],
        "pinned": pinned,
        "update": update,
    }


@pytest.fixture
def behind(tmp_path: Path) -> Iterator[Path]:
    """A cluster where a real addon of this checkout was installed at an older version."""
    api = FakeKubeApi()
    for name in ("kube-system", "metallb-system"):
        api.objects[("", "namespaces", "", name)] = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name},
        }
    body = record.body("metallb", "0.0.1", [record.Ref("v1", "Namespace", "", "metallb-system")])
    api.objects[("", "configmaps", "kube-system", body["metadata"]["name"])] = body
    with api.serve(tmp_path) as kubeconfig:
        yield kubeconfig


def test_addons_status_command_flags_an_addon_behind_its_pin(behind: Path) -> None:
    pinned = catalog.get("metallb").version
    assert pinned != "0.0.1"
    done = run_program("invoke", "addons.status", "--kubeconfig", str(behind), "--json")
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)["addons"]
    assert (row["name"], row["version"], row["pinned"], row["update"]) == (
        "metallb",
        "0.0.1",
        pinned,
        True,
    )
    table = run_program("invoke", "addons.status", "--kubeconfig", str(behind))
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].split()[:4] == ["metallb", "0.0.1", pinned, "(update)"]
    assert "Not at their pinned version: metallb;" in table.stdout
