"""Addon images come from the one pins file: every real addon names pins that exist, have
an image, a tag and a source; a pin that does not exist, or an image given inline, is one
sentence; the logging addon's engine picks which pinned images run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer import pins
from kubeprimer.addons import catalog, config, images, render
from kubeprimer.errors import UserError

SAMPLE = Path(__file__).parent / "sample" / "addons" / "web"


def test_every_addon_image_is_a_pin_with_a_source() -> None:
    table = pins.load()
    named = {}
    for addon in catalog.all_addons(kind=None):
        raw = yaml.safe_load((addon.path / "addon.yml").read_text())
        assert raw["images"], addon.name
        for key, entry in raw["images"].items():
            assert set(entry) == {"pin"}, f"{addon.name}: image {key} is not a pin"
            pin = table[entry["pin"]]
            image = addon.images[key]
            assert pin["source"].startswith("https://"), entry["pin"]
            assert image.source == pin["source"] and image.pin == entry["pin"]
            assert f"{image.registry}/{image.repository}" == pin["image"]
            assert image.tag == str(pin["version"])
            named[entry["pin"]] = addon.name
    assert named, "no addon names a pin"


def test_the_addon_version_follows_its_main_pin() -> None:
    table = pins.load()
    assert catalog.get("monitoring").version == str(table["prometheus"]["version"]).lstrip("v")
    assert catalog.get("logging").version == str(table["elasticsearch"]["version"])


def _addon_naming(tmp_path: Path, images_block: Any) -> Path:
    folder = tmp_path / "web"
    shutil.copytree(SAMPLE, folder)
    meta = yaml.safe_load((folder / "addon.yml").read_text())
    meta["images"] = images_block
    (folder / "addon.yml").write_text(yaml.safe_dump(meta))
    return tmp_path


def test_an_unknown_pin_is_one_sentence(tmp_path: Path) -> None:
    root = _addon_naming(tmp_path, {"web": {"pin": "busybux"}})
    with pytest.raises(UserError) as caught:
        catalog.get("web", root)
    assert caught.value.messages == [
        "web/addon.yml: image web names pin busybux, which "
        "roles/kube_defaults/defaults/main/pins.yml does not have (did you mean busybox?); "
        "add it there or name an existing pin."
    ]


def test_an_addon_of_ones_own_may_still_give_an_image_inline(tmp_path: Path) -> None:
    inline = {"registry": "docker.io", "repository": "library/busybox", "tag": "1.37.0"}
    root = _addon_naming(tmp_path, {"web": inline})
    assert catalog.get("web", root).images["web"].ref() == "docker.io/library/busybox:1.37.0"
    root = _addon_naming(tmp_path / "other", {"web": {"registry": "docker.io"}})
    with pytest.raises(UserError, match=r"image web needs \{pin: NAME\} \(a pin of .*pins.yml\)"):
        catalog.get("web", root)


def test_a_pin_that_is_not_an_image_is_refused(tmp_path: Path) -> None:
    root = _addon_naming(tmp_path, {"web": {"pin": "etcd"}})
    with pytest.raises(UserError, match="pin etcd has no image as registry/repository"):
        catalog.get("web", root)


def test_a_recorded_digest_is_appended_and_a_mirror_keeps_it() -> None:
    digest = "sha256:" + "0" * 64
    image = images.Image("quay.io", "team/web", "v1", digest)
    assert image.ref() == f"quay.io/team/web:v1@{digest}"
    assert image.ref("mirror.local:5000") == f"mirror.local:5000/team/web:v1@{digest}"


def _logging(engine: str) -> list[dict[str, Any]]:
    addon = catalog.get("logging")
    return render.objects(config.resolve(addon, {"addons_logging_engine": engine}))


@pytest.mark.parametrize(
    ("engine", "search", "ui", "fluentd", "output"),
    [
        ("elasticsearch", "elasticsearch", "kibana", "fluentd_elasticsearch", "elasticsearch"),
        ("opensearch", "opensearch", "opensearch-dashboards", "fluentd_opensearch", "opensearch"),
    ],
)
def test_the_engine_setting_picks_the_pinned_images_and_the_fluentd_output(
    engine: str, search: str, ui: str, fluentd: str, output: str
) -> None:
    objs = _logging(engine)
    addon = catalog.get("logging")
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    image_of = {
        name: o["spec"]["template"]["spec"]["containers"][0]["image"]
        for (kind, name), o in by_name.items()
        if kind in ("StatefulSet", "Deployment", "DaemonSet")
    }
    search_pin = "elasticsearch" if engine == "elasticsearch" else "opensearch"
    ui_pin = "kibana" if engine == "elasticsearch" else "opensearch_dashboards"
    assert image_of == {
        search: addon.images[search_pin].ref(),
        ui: addon.images[ui_pin].ref(),
        "fluentd": addon.images[fluentd].ref(),
    }
    conf = by_name[("ConfigMap", "fluentd")]["data"]["fluent.conf"]
    assert f"@type {output}\n" in conf and f"host {search}.logging.svc\n" in conf
    job = next(o for o in objs if o["kind"] == "Job")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    policy_api = "_ilm/policy" if engine == "elasticsearch" else "_plugins/_ism/policies"
    assert f"http://{search}.logging.svc:9200" in script and policy_api in script


def test_injected_agents_match_the_servers_roles_vault_installs() -> None:
    table = pins.load()
    assert table["openbao_agent"]["version"] == table["openbao"]["version"]
    assert table["vault_agent"]["version"] == table["vault"]["version"]
