"""Listing tasks: a table on a terminal, plain columns in a pipe, --json for scripts.

addons.list and addons.status run as users run them (the invoke program, stdout a pipe)
against the Kubernetes API test double; the other reports are checked from their data.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from doubles.fake_kube_api import FakeKubeApi
from rich.console import Console
from rich.text import Text

from kubeprimer import output
from tests.programs import run_program
from tests.unit.etcd.samples import LISTED_BACKUP

BOX = set("─│┃━┏┓┗┛┡┩╇╈┼╂")


def sample() -> output.Listing:
    table = output.Listing(("name", "size", "note"), title="things (2)", right=("size",))
    table.add("alpha", "7", Text("ok", style="green"))
    table.add("b", "1024", "")
    return table


def test_plain_columns_have_no_box_drawing_and_one_row_per_line() -> None:
    lines = output.plain_lines(sample())
    assert lines == [
        "things (2)",
        "NAME   SIZE  NOTE",
        "alpha     7  ok",
        "b      1024  -",
    ]


def test_show_draws_a_table_on_a_terminal_and_plain_text_in_a_pipe() -> None:
    pipe = Console(file=StringIO())
    output.show(pipe, sample())
    piped = pipe.file.getvalue()  # type: ignore[attr-defined]
    assert not BOX & set(piped)
    assert piped.splitlines()[2].split() == ["alpha", "7", "ok"]

    terminal = Console(file=StringIO(), force_terminal=True, width=100)
    output.show(terminal, sample())
    assert BOX & set(terminal.file.getvalue())  # type: ignore[attr-defined]


def test_a_long_row_is_never_wrapped_in_a_pipe() -> None:
    table = output.Listing(("what",))
    table.add("x" * 300)
    pipe = Console(file=StringIO(), width=80)
    output.show(pipe, table)
    assert "x" * 300 in pipe.file.getvalue()  # type: ignore[attr-defined]


def test_preflight_report_data() -> None:
    from kubeprimer.preflight import report
    from kubeprimer.preflight.checks import CHECKS, Outcome, Status

    row = {c: Outcome(Status.PASS, "fine") for c in CHECKS}
    row["swap"] = Outcome(Status.FAIL, "on", "turn swap off")
    data = report.data({"cp1": row}, {"w1": "unreachable over SSH", "w2": report.REFUSED})
    assert data["passed"] is False
    first, *down = data["hosts"]
    assert first["host"] == "cp1" and first["ssh"] == "ok"
    assert first["checks"]["swap"] == {"status": "fail", "detail": "on", "fix": "turn swap off"}
    assert [(h["host"], h["ssh"]) for h in down] == [("w1", "failed"), ("w2", "refused")]
    json.dumps(data)
    assert "cp1" in output.plain_lines(report.table({"cp1": row}, {}))[2]


def test_etcd_backups_in_a_pipe() -> None:
    from kubeprimer.etcd.report import backups_table

    header, row = output.plain_lines(backups_table([LISTED_BACKUP]))[1:]
    assert header.split() == ["ID", "TIME", "SIZE", "REVISION", "KEYS", "HOST", "ETCD"]
    assert row.startswith("1a2b3c4d ") and row.split()[-2:] == ["cp1", "3.5.1"]


def test_vault_plan_data_names_changes_never_values() -> None:
    from kubeprimer.vault.plan import Change, Plan

    def nothing(client: Any) -> None:
        return None

    plan = Plan(
        [
            Change("+", "secret", "apps/demo", "keys: password", nothing),
            Change("-", "policy", "old", "", nothing),
        ]
    )
    assert plan.data() == {
        "changes": [
            {"action": "-", "kind": "policy", "name": "old", "detail": ""},
            {"action": "+", "kind": "secret", "name": "apps/demo", "detail": "keys: password"},
        ],
        "counts": {"create": 1, "update": 0, "remove": 1},
    }
    assert plan.text().endswith("1 to create, 0 to update, 1 to remove.")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[FakeKubeApi, Path]]:
    """A cluster with one addon recorded whose Deployment is gone."""
    from kubeprimer.addons import record

    api = FakeKubeApi()
    api.objects[("", "namespaces", "", "kube-system")] = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "kube-system"},
    }
    gone = record.Ref("apps/v1", "Deployment", "web", "web")
    body = record.body("web", "1.2.3", [gone])
    api.objects[("", "configmaps", "kube-system", body["metadata"]["name"])] = body
    with api.serve(tmp_path) as kubeconfig:
        yield api, kubeconfig


def invoke(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_program("invoke", *argv, env=env, timeout=120)


def test_addons_status_json_keeps_exit_1_and_stdout_holds_only_the_json(
    cluster: tuple[FakeKubeApi, Path],
) -> None:
    _, kubeconfig = cluster
    done = invoke("addons.status", "--kubeconfig", str(kubeconfig), "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout) == {
        "addons": [
            {
                "name": "web",
                "version": "1.2.3",
                "objects": 1,
                "workloads_ready": 0,
                "workloads": 1,
                "missing": ["Deployment web/web"],
                "pinned": None,
                "update": False,
            }
        ],
        "ready": False,
    }
    table = invoke("addons.status", "--kubeconfig", str(kubeconfig))
    assert table.returncode == 1
    assert not BOX & set(table.stdout)
    # web is no addon of this checkout: installed 1.2.3, no pin ("-").
    assert table.stdout.splitlines()[1].split()[:5] == ["web", "1.2.3", "-", "1", "0/1"]


def test_addons_list_json(cluster: tuple[FakeKubeApi, Path]) -> None:
    _, kubeconfig = cluster
    done = invoke("addons.list", "--kubeconfig", str(kubeconfig), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["cluster_error"] is None
    assert data["addons"], "the catalog lists addons"
    for row in data["addons"]:
        assert set(row) == {"name", "version", "installed", "installed_version", "description"}
        assert row["installed"] is False and row["installed_version"] is None


def test_addons_status_with_dash_i_uses_the_admin_kubeconfig_beside_that_inventory(
    cluster: tuple[FakeKubeApi, Path], tmp_path: Path
) -> None:
    _, kubeconfig = cluster
    site = tmp_path / "site"
    (site / "artifacts").mkdir(parents=True)
    shutil.copy(kubeconfig, site / "artifacts" / "admin.conf")
    (site / "hosts.yml").write_text(
        "all:\n  children:\n    kube_control_plane:\n      hosts:\n"
        "        cp1: {ansible_host: 192.0.2.10}\n    etcd:\n      hosts:\n        cp1:\n"
    )
    # A $KUBECONFIG of another cluster: -i names the cluster, as it names Vault's servers.
    done = invoke(
        "addons.status", "-i", str(site / "hosts.yml"), "--json", KUBECONFIG=str(tmp_path / "other")
    )
    assert done.returncode == 1, done.stderr
    assert [a["name"] for a in json.loads(done.stdout)["addons"]] == ["web"]
