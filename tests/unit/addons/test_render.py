"""Rendering: every object labelled as kubeprimer's, images pinned, mistakes named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubeprimer.addons import catalog, config, render
from kubeprimer.errors import UserError

DIGEST = "sha256:" + "0" * 64


def test_every_object_carries_the_addon_labels(samples: Path) -> None:
    objs = render.objects(config.resolve(catalog.get("web", samples), {}))
    assert [o["kind"] for o in objs] == [
        "Namespace",
        "ConfigMap",
        "Deployment",
        "DaemonSet",
        "StatefulSet",
    ]
    for obj in objs:
        assert obj["metadata"]["labels"] == {
            "app.kubernetes.io/managed-by": "kubeprimer",
            "kubeprimer.io/addon": "web",
        }


def test_images_are_pinned_and_a_mirror_replaces_the_registry(samples: Path) -> None:
    addon = catalog.get("web", samples)
    objs = render.objects(config.resolve(addon, {}))
    image = objs[2]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"registry.example/team/web:1.2.3@{DIGEST}"
    mirrored = render.objects(config.resolve(addon, {"addons_image_registry": "mirror.local:5000"}))
    assert mirrored[2]["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "mirror.local:5000/team/web:1.2.3@"
    )


def test_settings_reach_the_templates(samples: Path) -> None:
    objs = render.objects(
        config.resolve(catalog.get("web", samples), {"addons_web": {"extra": True, "replicas": 4}})
    )
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "ConfigMap"] == ["web", "web-extra"]
    assert next(o for o in objs if o["kind"] == "Deployment")["spec"]["replicas"] == 4


def test_write_gives_one_file_per_template(samples: Path, tmp_path: Path) -> None:
    resolved = config.resolve(catalog.get("web", samples), {})
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "stale.yaml").write_text("old")
    paths = render.write(resolved, tmp_path)
    assert [p.name for p in paths] == ["00-namespace.yaml", "10-web.yaml"]
    assert not (tmp_path / "web" / "stale.yaml").exists()
    docs = list(yaml.safe_load_all(paths[1].read_text()))
    assert [d["kind"] for d in docs] == ["ConfigMap", "Deployment", "DaemonSet", "StatefulSet"]


def test_an_undefined_name_in_a_template_is_an_error(samples: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    (broken / "templates").mkdir(parents=True)
    (broken / "addon.yml").write_text("name: broken\nversion: '1'\ndescription: d\nnamespace: b\n")
    (broken / "templates" / "00-x.yaml.j2").write_text("a: 1\nb: {{ settings.nothing }}\n")
    with pytest.raises(
        UserError, match=r"broken/templates/00-x.yaml.j2 .*does not render: .*nothing"
    ):
        render.objects(config.resolve(catalog.get("broken", tmp_path), {}))
