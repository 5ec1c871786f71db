"""Files an addon or a user supplies that are not UTF-8, or not usable YAML, are one
sentence naming the file, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kubeprimer.addons import catalog, config, render
from kubeprimer.addons.kube import connect
from kubeprimer.errors import UserError

NOT_UTF8 = b"name: caf\xe9\n"


@pytest.fixture
def web(samples: Path, tmp_path: Path) -> Path:
    shutil.copytree(samples, tmp_path / "addons")
    return tmp_path / "addons" / "web"


def _render(root: Path) -> None:
    render.objects(config.resolve(catalog.get("web", root), {}))


def test_addon_yml_not_utf8(web: Path) -> None:
    (web / "addon.yml").write_bytes(NOT_UTF8)
    with pytest.raises(UserError) as raised:
        catalog.get("web", web.parent)
    assert raised.value.messages == [
        f"{web / 'addon.yml'} is not UTF-8 text (byte 0xe9 on line 1); save it as UTF-8."
    ]


def test_addon_yml_with_an_unhashable_key(web: Path) -> None:
    (web / "addon.yml").write_text("? [name]\n: web\n")
    with pytest.raises(UserError, match=r"addon.yml line 1: a key is a list"):
        catalog.get("web", web.parent)


def test_a_shipped_file_not_utf8(web: Path) -> None:
    (web / "files").mkdir()
    (web / "files" / "dashboard.json").write_bytes(b"{\xff}")
    with pytest.raises(UserError, match=r"dashboard.json is not UTF-8 text"):
        _render(web.parent)


def test_a_template_not_utf8(web: Path) -> None:
    template = sorted((web / "templates").glob("*.yaml.j2"))[0]
    template.write_bytes(template.read_bytes() + b"# caf\xe9\n")
    with pytest.raises(UserError) as raised:
        _render(web.parent)
    assert raised.value.messages == [
        f"web/templates/{template.name} is not UTF-8 text; save it as UTF-8."
    ]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"apiVersion: v1\nusers: [{name: caf\xe9}]\n", "is not UTF-8 text"),
        (b"apiVersion: v1\n? [a]\n: b\n", "a key is a list"),
        (b"- just\n- a list\n", "No usable kubeconfig"),
        (b"apiVersion: v1\ncurrent-context: x\ncontexts: [{name: x, context: {}}]\n", "kubeconfig"),
    ],
)
def test_a_kubeconfig_that_is_not_one(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_bytes(content)
    with pytest.raises(UserError) as raised:
        connect(path)
    [message] = raised.value.messages
    assert fragment in message
