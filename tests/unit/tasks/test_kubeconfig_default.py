"""Which kubeconfig a task uses: found as the Vault tasks find their servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke import Config, Context

from kubeprimer.settings import DEFAULTS
from kubeprimer.tasks._common import kubeconfig_path

HOSTS = (
    "all:\n  children:\n    kube_control_plane:\n      hosts:\n"
    "        cp1: {ansible_host: 192.0.2.10}\n    etcd:\n      hosts:\n        cp1:\n"
)


def site(folder: Path, fetched: bool) -> Path:
    (folder / "artifacts").mkdir(parents=True)
    if fetched:
        (folder / "artifacts" / "admin.conf").write_text("kubeconfig")
    (folder / "hosts.yml").write_text(HOSTS)
    return folder / "hosts.yml"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $KUBECONFIG and an empty home: no kubeconfig of the user's own."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def context(default_inventory: Path) -> Context:
    return Context(
        Config(overrides={"kubeprimer": {**DEFAULTS, "inventory": str(default_inventory)}})
    )


def test_the_option_wins(home: Path, tmp_path: Path) -> None:
    hosts = site(tmp_path / "a", fetched=True)
    c = context(hosts)
    assert kubeconfig_path(c, "~/k.conf", str(hosts)) == home / "k.conf"


def test_dash_i_names_the_admin_kubeconfig_beside_that_inventory(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = site(tmp_path / "default", fetched=True)
    given = site(tmp_path / "given", fetched=True)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "other.conf"))
    assert (
        kubeconfig_path(context(default), None, str(given))
        == given.parent / "artifacts" / "admin.conf"
    )
    # A cluster made otherwise: the client's own default, never another inventory's.
    bare = site(tmp_path / "bare", fetched=False)
    assert kubeconfig_path(context(default), None, str(bare)) is None


def test_without_dash_i_the_environment_then_the_default_inventory(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = site(tmp_path / "default", fetched=True)
    assert (
        kubeconfig_path(context(default), None, None) == default.parent / "artifacts" / "admin.conf"
    )
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "mine.conf"))
    assert kubeconfig_path(context(default), None, None) is None  # the client reads $KUBECONFIG
    monkeypatch.delenv("KUBECONFIG")
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("kubeconfig")
    assert kubeconfig_path(context(default), None, None) is None  # ... or ~/.kube/config
    missing = context(tmp_path / "nowhere" / "hosts.yml")
    (home / ".kube" / "config").unlink()
    assert kubeconfig_path(missing, None, None) is None
