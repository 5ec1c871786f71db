"""The one strict YAML reader behind inventories, group_vars and the Vault config file.

Each case goes through the readers users reach (``inventory.load``, ``vault.config``),
so that both keep the same rules: merge keys as Ansible reads them, duplicates and
unusable keys refused with one sentence naming the file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubeprimer import inventory, yamlfile
from kubeprimer.errors import UserError
from kubeprimer.vault import config as vault_config

HOSTS = "all:\n  children:\n    kube_control_plane:\n      hosts:\n        cp1: {ansible_host: 10.1.0.11}\n"


def _inventory_vars(tmp_path: Path, text: str) -> dict[str, Any]:
    (tmp_path / "hosts.yml").write_text(HOSTS)
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_bytes(text.encode("utf-8"))
    return inventory.load(tmp_path / "hosts.yml").group_vars["all"]


def _vault_config(tmp_path: Path, text: str) -> dict[str, Any]:
    path = tmp_path / "config.yml"
    path.write_bytes(text.encode("utf-8"))
    desired, problems = vault_config.check(path)
    assert problems == []
    return {name: hcl for name, hcl in desired.policies.items()}


def _write_raw(tmp_path: Path, data: bytes, reader: str) -> Path:
    if reader == "config":
        path = tmp_path / "config.yml"
        path.write_bytes(data)
        return path
    (tmp_path / "hosts.yml").write_text(HOSTS)
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_bytes(data)
    return tmp_path / "group_vars" / "all.yml"


def _load(tmp_path: Path, reader: str) -> None:
    if reader == "config":
        vault_config.check(tmp_path / "config.yml")
    else:
        inventory.load(tmp_path / "hosts.yml")


READERS = ["inventory", "config"]


def test_merge_key_in_group_vars_as_ansible_reads_it(tmp_path: Path) -> None:
    found = _inventory_vars(
        tmp_path,
        "base: &base {kube_cni: calico, proxy_no_proxy: [a]}\n"
        "extra: &extra {kube_cni: weave, kube_api_port: 6443}\n"
        "single:\n  <<: *base\n  kube_cni: flannel\n"
        "listed:\n  <<: [*base, *extra]\n",
    )
    # The mapping's own key wins over the merged one.
    assert found["single"] == {"kube_cni": "flannel", "proxy_no_proxy": ["a"]}
    # In a list, later mappings win over earlier ones: the YAML spec says the opposite,
    # but this is what Ansible (PyYAML) reads, and the two must agree.
    assert found["listed"] == {"kube_cni": "weave", "proxy_no_proxy": ["a"], "kube_api_port": 6443}


def test_merge_key_in_the_hosts_file(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(
        "all:\n  vars:\n    defaults: &node {ansible_user: admin, ansible_port: 2222}\n"
        "  children:\n    kube_node:\n      hosts:\n"
        "        w1:\n          <<: *node\n          ansible_host: 10.1.0.21\n"
    )
    host = inventory.load(tmp_path / "hosts.yml").hosts["w1"]
    assert (host.user, host.port, host.address) == ("admin", 2222, "10.1.0.21")


def test_merge_key_in_the_vault_config(tmp_path: Path) -> None:
    hcl = 'path "a/*" { capabilities = ["read"] }'
    policies = _vault_config(
        tmp_path, f"policies:\n  reader: &p {{hcl: '{hcl}'}}\n  copy:\n    <<: *p\n"
    )
    assert policies == {"reader": hcl, "copy": hcl}


@pytest.mark.parametrize("reader", READERS)
def test_a_real_duplicate_beside_a_merge_is_still_refused(tmp_path: Path, reader: str) -> None:
    text = "x: &x {a: 1}\npolicies:\n  <<: *x\n  b: 1\n  b: 2\n"
    path = _write_raw(tmp_path, text.encode(), reader)
    with pytest.raises(UserError) as raised:
        _load(tmp_path, reader)
    assert raised.value.messages == [
        f"{path} line 5: duplicate key 'b'; a key must appear only once per mapping."
    ]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("text", "kind"),
    [("? [a, b]\n: 1\n", "list"), ("{[1]: x}\n", "list"), ("k:\n  {a: 1}: x\n", "mapping")],
)
def test_an_unhashable_key_is_one_sentence(
    tmp_path: Path, reader: str, text: str, kind: str
) -> None:
    path = _write_raw(tmp_path, text.encode(), reader)
    with pytest.raises(UserError) as raised:
        _load(tmp_path, reader)
    [message] = raised.value.messages
    assert message.startswith(f"{path} line ") and f"a key is a {kind};" in message


@pytest.mark.parametrize("reader", READERS)
def test_bytes_that_are_not_utf8_name_the_file(tmp_path: Path, reader: str) -> None:
    path = _write_raw(tmp_path, b"a: 1\nb: caf\xe9\n", reader)
    with pytest.raises(UserError) as raised:
        _load(tmp_path, reader)
    assert raised.value.messages == [
        f"{path} is not UTF-8 text (byte 0xe9 on line 2); save it as UTF-8."
    ]


def test_ansible_tags_are_kept(tmp_path: Path) -> None:
    found = yamlfile.parse(
        "secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n"
        "raw: !unsafe '{{ not templated }}'\n",
        tmp_path / "all.yml",
    )
    assert found["raw"] == "{{ not templated }}"
    assert "ANSIBLE_VAULT" in found["secret"].ciphertext
    # The ciphertext never passes for the value.
    assert "ANSIBLE_VAULT" not in str(found["secret"]) + repr(found["secret"])


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "text", ["loop: &a [1, *a]\n", "loop: &a\n  inner: {back: *a}\n", "a: &m {<<: *m}\n"]
)
def test_an_alias_inside_its_own_anchor_is_one_sentence(
    tmp_path: Path, reader: str, text: str
) -> None:
    """Such a value never ends: walking it overflowed the stack (Ansible's too)."""
    path = _write_raw(tmp_path, text.encode(), reader)
    with pytest.raises(UserError) as raised:
        _load(tmp_path, reader)
    [message] = raised.value.messages
    assert message.startswith(f"{path} line ")
    assert "the alias *" in message and "never ends; write the values out instead." in message


def test_an_alias_to_a_finished_anchor_is_still_read(tmp_path: Path) -> None:
    found = _inventory_vars(tmp_path, "a: &a [1, 2]\nb: {copy: *a, again: *a}\n")
    assert found["b"] == {"copy": [1, 2], "again": [1, 2]}
