"""cluster.rotate-encryption-key's steps as users run them (the invoke program), with a
clearly named test double of the playbook run (``StepRun``, which only records each
step) and the FakeKubeApi double (tests/doubles/fake_kube_api.py) for the Secret
rewrite. What the steps do on the hosts is tested on stand-in control planes in
tests/integration/cluster/test_encryption_rotate_fake_crictl.py."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kubeprimer.addons import kube
from kubeprimer.cluster import encryption_record, encryption_rewrite
from kubeprimer.tasks import _common
from tests.doubles.fake_kube_api import FakeKubeApi
from tests.unit.cluster.test_remove_refusals import _invoke, write_inventory
from tests.unit.cluster.test_reset_task import FakeRun

HA = {"kube_control_plane": ["cp1", "cp2", "cp3"], "kube_node": ["w1"]}
ONE = {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}
NAMESPACES = ("default", "kube-system", "apps")


class StepRun(FakeRun):
    """Test double of run_playbook for rotate_encryption_key.yml: records each step and
    the key name it was given; at the step named in ``fail_at`` (once) it answers as a
    playbook that did not complete; ``after`` is called after each step (what the API
    servers do once restarted)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_at = ""
        self.steps: list[tuple[str, str]] = []
        self.after = lambda step, key: None

    def __call__(self, playbook: str, inventory: Path, **options: Any) -> Any:
        assert playbook == "rotate_encryption_key.yml"
        extra = options["extravars"]
        step, key = extra["kubeprimer_encryption_step"], extra["kubeprimer_encryption_key_name"]
        self.steps.append((step, key))
        result = super().__call__(playbook, inventory, **{**options, "limit": "cp1"})
        if step == self.fail_at:
            self.fail_at = ""
            return type(result)(2, result.log_dir, result.stats, [])
        self.after(step, key)
        return result

    @property
    def names(self) -> list[str]:
        return [step for step, _ in self.steps]


@dataclass
class Rig:
    """The API double with Secrets in three namespaces (all under key1), its kubeconfig,
    the runs folder and the playbook double."""

    api: FakeKubeApi
    kubeconfig: Path
    runs: Path
    run: StepRun
    folder: Path
    capsys: pytest.CaptureFixture[str]

    def inventory(self, groups: Any = None, **settings: Any) -> Path:
        inventory = write_inventory(self.folder, groups or HA, **settings)
        (self.folder / "artifacts").mkdir(exist_ok=True)
        (self.folder / "artifacts" / "admin.conf").write_text(self.kubeconfig.read_text())
        return inventory

    def rotate(self, inventory: Path, *args: str) -> tuple[int, str]:
        code = _invoke("cluster.rotate-encryption-key", "-i", str(inventory), *args)
        said = self.capsys.readouterr()
        return code, said.out + said.err

    def record(self, inventory: Path) -> dict[str, Any]:
        path = encryption_record.location(self.runs, inventory)
        return dict(json.loads(path.read_text()))


@pytest.fixture
def rig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Rig]:
    api = FakeKubeApi()
    for namespace in NAMESPACES:
        for n in range(3):
            body = {"metadata": {"name": f"s{n}", "namespace": namespace}, "data": {"k": "dg=="}}
            api._put("v1", "Secret", body)
    runs = tmp_path / "runs"
    monkeypatch.setenv("INVOKE_KUBEPRIMER_RUNS_DIR", str(runs))
    run = StepRun()
    monkeypatch.setattr(_common, "run_playbook", run)
    with api.serve(tmp_path) as kubeconfig:
        yield Rig(api, kubeconfig, runs, run, tmp_path, capsys)


def test_without_a_terminal_or_yes_nothing_is_touched(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = rig.inventory()
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, said = rig.rotate(inventory)
    assert code == 2 and said.count("error:") == 1, said
    assert (
        "restarts every API server and needs confirmation: run it in a terminal, or add --yes"
        in said
    )
    assert rig.run.steps == [] and rig.api.requests == []
    assert not encryption_record.location(rig.runs, inventory).exists()


@pytest.mark.parametrize(
    ("groups", "settings", "said"),
    [
        ({"kube_node": ["w1"]}, {}, "No host is in group kube_control_plane"),
        (HA, {"kubeadm_encryption_resources": ["secrets", "*.apps"]}, "names *.apps"),
        (HA, {"kubeadm_encryption_resources": ["widgets.example.com"]}, "does not serve widgets"),
    ],
)
def test_bad_input_is_refused_before_any_host(
    rig: Rig, groups: Any, settings: dict[str, Any], said: str
) -> None:
    code, out = rig.rotate(rig.inventory(groups, **settings), "--yes")
    assert code == 2 and said in out and out.count("error:") == 1, out
    assert "Traceback" not in out
    assert rig.run.steps == []
    assert not [r for r in rig.api.requests if r[0] != "GET"]


def test_no_kubeconfig_is_refused_before_anything(rig: Rig) -> None:
    inventory = rig.inventory()
    (rig.folder / "artifacts" / "admin.conf").unlink()
    code, out = rig.rotate(inventory, "--yes")
    assert code == 2 and "artifacts/admin.conf is not there" in out, out
    assert rig.run.steps == [] and rig.api.requests == []


def test_the_steps_run_in_order_each_recorded_and_every_secret_is_rewritten(rig: Rig) -> None:
    inventory = rig.inventory()

    def api_servers(step: str, key: str) -> None:
        # Restarted after use, the API servers encrypt with the new key.
        if step == "use":
            rig.api.encryption_key = key
        # The rewrite happens after use and before drop, never elsewhere.
        assert sum(rig.api.replaced.values()) == (9 if step == "drop" else 0), step

    rig.run.after = api_servers
    code, out = rig.rotate(inventory, "--yes")
    assert code == 0, out
    key = rig.run.steps[0][1]
    assert rig.run.steps == [("learn", key), ("use", key), ("drop", key)]
    assert key.startswith("key-") and ":" not in key
    # Every Secret in every namespace was written again, once, under the new key.
    secrets = {ref: n for ref, n in rig.api.replaced.items() if ref.startswith("secrets/")}
    assert len(secrets) == 9 and set(secrets.values()) == {1}
    assert {k for ref, k in rig.api.encrypted_with.items() if ref.startswith("secrets/")} == {key}
    assert "Rewrote 9 secrets under the new key." in out
    assert f"encrypted at rest with the new key {key} only" in out

    record = rig.record(inventory)
    assert record["done"] == ["learn", "use", "rewrite", "drop"] and record["finished"]
    assert record["key"] == key and "secret" not in json.dumps(record)
    path = encryption_record.location(rig.runs, inventory)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    # A re-run after completion changes nothing and says how to rotate again.
    code, out = rig.rotate(inventory, "--yes")
    assert code == 0 and "nothing to do" in out and "--new" in out, out
    assert len(rig.run.steps) == 3

    # --new begins another rotation, with another key.
    rig.api.replaced.clear()
    code, out = rig.rotate(inventory, "--yes", "--new")
    assert code == 0, out
    assert rig.run.names[3:] == ["learn", "use", "drop"]
    assert rig.run.steps[3][1] != key


def test_one_control_plane_has_no_learn_step(rig: Rig) -> None:
    code, out = rig.rotate(rig.inventory(ONE), "--yes")
    assert code == 0, out
    assert rig.run.names == ["use", "drop"]
    assert "Step 1/3:" in out and "Step 3/3:" in out


@pytest.mark.parametrize("failing", ["learn", "use", "drop"])
def test_a_failed_step_is_resumed_with_the_same_key(rig: Rig, failing: str) -> None:
    inventory = rig.inventory()
    rig.run.fail_at = failing
    code, out = rig.rotate(inventory, "--yes")
    assert code == 2, out
    assert f"again to resume at this step ({failing})" in out
    ran = rig.run.names
    assert ran == ["learn", "use", "drop"][: ran.index(failing) + 1]
    record = rig.record(inventory)
    assert failing not in record["done"] and not record["finished"]
    key = rig.run.steps[0][1]

    # --new does not start over an unfinished rotation.
    code, out = rig.rotate(inventory, "--yes", "--new")
    assert code == 2 and "is not finished" in out, out

    code, out = rig.rotate(inventory, "--yes")
    assert code == 0, out
    assert f"Resuming the rotation to key {key}" in out
    resumed = rig.run.steps[len(ran) :]
    assert resumed[0] == (failing, key) and {k for _, k in resumed} == {key}
    assert rig.record(inventory)["finished"]


def test_a_killed_rewrite_is_done_again_and_the_old_key_stays_until_it_finished(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = rig.inventory()
    real = encryption_rewrite._replace
    calls = {"n": 0}

    def dies_on_the_fifth(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("connection reset by peer")
        real(*args)

    monkeypatch.setattr(encryption_rewrite, "_replace", dies_on_the_fifth)
    code, out = rig.rotate(inventory, "--yes")
    assert code == 1 and "again to resume at this step (rewrite)" in out, out
    assert "The old key is kept" in out
    assert rig.run.names == ["learn", "use"]
    assert rig.record(inventory)["done"] == ["learn", "use"]

    code, out = rig.rotate(inventory, "--yes")
    assert code == 0, out
    assert rig.run.names == ["learn", "use", "drop"]


def test_conflicts_are_read_again_and_pages_are_followed(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.api.encryption_key = "key2"
    rig.api.conflict_once = {"apps/s1", "default/s0"}
    monkeypatch.setattr(encryption_rewrite, "PAGE", 2)
    said: list[str] = []
    done = encryption_rewrite.rewrite(
        kube.connect(rig.kubeconfig), [encryption_rewrite.Target("secrets", "")], said.append
    )
    count = done["secrets"]
    assert (count.objects, count.conflicts, count.gone) == (9, 2, 0)
    refs = [f"secrets/{ns}/s{n}" for ns in NAMESPACES for n in range(3)]
    assert {rig.api.encrypted_with[ref] for ref in refs} == {"key2"}
    # Five pages of two: the list followed every continue token.
    lists = [p for m, p in rig.api.requests if m == "GET" and p == "/api/v1/secrets"]
    assert len(lists) == 5
    assert said == ["Rewrote 9 secrets under the new key (2 again after another write)."]


def test_a_refused_rewrite_says_what_to_fix_and_how_to_resume(rig: Rig) -> None:
    inventory = rig.inventory()
    rig.api.policy = lambda verb, group, resource, namespace: verb != "update"
    code, out = rig.rotate(inventory, "--yes")
    assert code == 2 and "Traceback" not in out, out
    assert "may not do this" in out and "again to resume at this step (rewrite)" in out
    assert rig.run.names == ["learn", "use"]
    assert rig.record(inventory)["done"] == ["learn", "use"]

    rig.api.policy = None
    code, out = rig.rotate(inventory, "--yes")
    assert code == 0, out
    assert rig.run.names == ["learn", "use", "drop"]
