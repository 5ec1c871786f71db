"""roles/containerd's source, releases and mirror are refused before any host is touched:
one sentence per setting and value, naming the hosts, exit status 2 from cluster.up."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubeprimer.inventory import load, problems


def _problems(
    tmp_path: Path, host_vars: dict[str, object], group_vars: dict[str, object]
) -> list[str]:
    hosts = {
        "all": {
            "children": {
                "kube_control_plane": {
                    "hosts": {"cp1": {"ansible_host": "10.1.0.11", **host_vars}}
                },
                "kube_node": {"hosts": {"w1": {"ansible_host": "10.1.0.21"}}},
            },
            "vars": group_vars,
        }
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(hosts))
    return [p for p in problems(load(tmp_path / "hosts.yml")) if "containerd" in p]


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {
            "containerd_source": "tarball",
            "containerd_version": "2.3.5",
            "containerd_runc_version": "1.4.3",
        },
        {"containerd_source": "distro", "containerd_mirror_url": ""},
        {"containerd_mirror_url": "https://files.example.internal/mirror/"},
        {"containerd_mirror_url": "file:///srv/mirror"},
        {"containerd_version": "{{ site_containerd }}"},
    ],
    ids=repr,
)
def test_usable_settings_pass(tmp_path: Path, settings: dict[str, object]) -> None:
    assert _problems(tmp_path, {}, settings) == []


def test_a_mistyped_source_on_every_host_is_one_sentence(tmp_path: Path) -> None:
    found = _problems(tmp_path, {}, {"containerd_source": "upstream"})
    assert found == [
        "containerd_source 'upstream' on cp1, w1 is not usable; set it to tarball or distro."
    ]


@pytest.mark.parametrize(
    ("setting", "value", "fix"),
    [
        ("containerd_version", "v2.3.5", "write a containerd release such as 2.3.5, without v"),
        ("containerd_version", 2.3, "write a containerd release such as 2.3.5, without v"),
        ("containerd_runc_version", "latest", "write a runc release such as 1.4.3, without v"),
        ("containerd_mirror_url", "files.example.internal", "write an http(s):// or file:// URL"),
        ("containerd_mirror_url", "http://x/ y", "write an http(s):// or file:// URL"),
    ],
)
def test_a_bad_value_on_one_host_names_that_host(
    tmp_path: Path, setting: str, value: object, fix: str
) -> None:
    found = _problems(tmp_path, {setting: value}, {})
    assert len(found) == 1, found
    assert found[0].startswith(f"{setting} {value!r} on cp1 is not usable; {fix}")
