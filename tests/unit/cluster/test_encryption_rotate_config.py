"""The encryption configuration a key rotation writes (roles/kubeadm/templates/
encryption-config.yaml.j2) and how the role reads one back (tasks/encryption-keys.yml),
rendered by ansible-playbook itself on the controller: two keys of one provider share
its entry, the new key first; a new provider gets its own entry before the old one;
identity stays last; reading configurations back keeps every key once, in order."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.paths import ROLES
from tests.programs import run_playbook

OLD = base64.b64encode(b"o" * 32).decode()
NEW = base64.b64encode(b"n" * 32).decode()
CASES = {
    # The use step with the inventory's provider unchanged.
    "shared": [
        {"provider": "secretbox", "name": "key-new", "secret": NEW},
        {"provider": "secretbox", "name": "key1", "secret": OLD},
    ],
    # The learn step while the inventory moves the cluster from secretbox to aescbc.
    "moved": [
        {"provider": "secretbox", "name": "key1", "secret": OLD},
        {"provider": "aescbc", "name": "key-new", "secret": NEW},
    ],
    "alone": [{"provider": "aescbc", "name": "key-new", "secret": NEW}],
}


def playbook(out: Path) -> list[dict[str, Any]]:
    return [
        {
            "name": "Render and read back encryption configurations",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "tasks": [
                {
                    "name": "Render each case",
                    "ansible.builtin.template": {
                        "src": str(ROLES / "kubeadm/templates/encryption-config.yaml.j2"),
                        "dest": f"{out}/{{{{ item.key }}}}.yaml",
                        "mode": "0600",
                    },
                    "vars": {
                        "kubeadm_encryption_resources": ["secrets", "configmaps"],
                        "__kubeadm_encryption_keys": "{{ item.value }}",
                    },
                    "loop": "{{ cases | dict2items }}",
                    "loop_control": {"label": "{{ item.key }}"},
                },
                {
                    "name": "Read the keys of two control planes' configurations",
                    "ansible.builtin.include_tasks": str(
                        ROLES / "kubeadm/tasks/encryption-keys.yml"
                    ),
                    "vars": {
                        "__kubeadm_encryption_configs": [
                            f"{{{{ lookup('file', '{out}/moved.yaml') }}}}",
                            f"{{{{ lookup('file', '{out}/shared.yaml') }}}}",
                        ]
                    },
                },
                {
                    "name": "Keep what was read",
                    "ansible.builtin.copy": {
                        "content": "{{ __kubeadm_encryption_found | to_json }}",
                        "dest": f"{out}/found.json",
                        "mode": "0600",
                    },
                },
            ],
        }
    ]


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("encryption")
    out = base / "out"
    out.mkdir()
    (base / "play.yml").write_text(yaml.safe_dump(playbook(out)))
    (base / "cases.json").write_text(json.dumps({"cases": CASES}))
    done = run_playbook([str(base / "play.yml"), "-e", f"@{base / 'cases.json'}"])
    assert done.returncode == 0, done.stdout[-4000:]
    # The keys are only in the files, never in Ansible's output.
    assert NEW not in done.stdout and OLD not in done.stdout
    return out


def providers(out: Path, case: str) -> list[Any]:
    (doc,) = [d for d in yaml.safe_load_all((out / f"{case}.yaml").read_text()) if d]
    assert doc["apiVersion"] == "apiserver.config.k8s.io/v1"
    assert doc["kind"] == "EncryptionConfiguration"
    (entry,) = doc["resources"]
    assert entry["resources"] == ["secrets", "configmaps"]
    return list(entry["providers"])


def test_two_keys_of_one_provider_share_its_entry_the_first_encrypting(configs: Path) -> None:
    assert providers(configs, "shared") == [
        {
            "secretbox": {
                "keys": [{"name": "key-new", "secret": NEW}, {"name": "key1", "secret": OLD}]
            }
        },
        {"identity": {}},
    ]


def test_a_new_provider_gets_its_own_entry_in_the_order_given(configs: Path) -> None:
    assert providers(configs, "moved") == [
        {"secretbox": {"keys": [{"name": "key1", "secret": OLD}]}},
        {"aescbc": {"keys": [{"name": "key-new", "secret": NEW}]}},
        {"identity": {}},
    ]


def test_the_new_key_alone_at_the_end(configs: Path) -> None:
    assert providers(configs, "alone") == [
        {"aescbc": {"keys": [{"name": "key-new", "secret": NEW}]}},
        {"identity": {}},
    ]


def test_reading_configurations_back_keeps_every_key_once_in_order(configs: Path) -> None:
    found = json.loads((configs / "found.json").read_text())
    # cp1's configuration first, then the keys only cp2's has; key-new only once, with
    # the provider of the configuration it was first found in.
    assert found == [
        {"provider": "secretbox", "name": "key1", "secret": OLD},
        {"provider": "aescbc", "name": "key-new", "secret": NEW},
    ]
