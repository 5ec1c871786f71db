"""The documented way to inject a secret as a file: the demo Deployment's pod-template
annotations are valid Kubernetes for every supported minor, and every name they use
(role, service account, namespace, secret path, key) is one vault/config.example.yml
declares, with a policy that lets the role read that path."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kubeprimer.paths import ROOT
from kubeprimer.vault.config import Desired, check

EXAMPLE = ROOT / "vault" / "demo-deployment.example.yaml"
CONFIG = ROOT / "vault" / "config.example.yml"
PREFIX = "vault.hashicorp.com/"
POLICY_PATH = re.compile(r'path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]', re.S)


def deployment() -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return obj


def desired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desired:
    shutil.copy(CONFIG, tmp_path / "config.yml")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "demo-db-password").write_text("example\n")
    monkeypatch.setenv("DEMO_DB_USER", "demo")
    found, problems = check(tmp_path / "config.yml")
    assert problems == []
    return found


def glob_match(pattern: str, path: str) -> bool:
    """Vault's ACL path globbing: '+' is one segment, a trailing '*' any suffix."""
    regex = re.escape(pattern).replace(r"\+", "[^/]+")
    regex = regex[:-2] + ".*" if pattern.endswith("*") else regex
    return re.fullmatch(regex, path) is not None


@pytest.mark.parametrize("minor", ["1.35", "1.36", "1.37"])
def test_the_annotated_deployment_validates(minor: str) -> None:
    kubernetes_validate.validate(deployment(), minor, strict=True)


def test_every_name_in_the_annotations_is_declared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = desired(tmp_path, monkeypatch)
    obj = deployment()
    notes = obj["spec"]["template"]["metadata"]["annotations"]
    assert notes[PREFIX + "agent-inject"] == "true"
    role = want.roles[notes[PREFIX + "role"]]
    assert obj["spec"]["template"]["spec"]["serviceAccountName"] in role.service_accounts
    assert obj["metadata"]["namespace"] in role.namespaces

    path = notes[PREFIX + "agent-inject-secret-db-password"]
    mount, _, rest = path.partition("/data/")
    assert f"{mount}/{rest}" in want.secrets
    template = notes[PREFIX + "agent-inject-template-db-password"]
    assert f'secret "{path}"' in template
    key = re.search(r"\.Data\.data\.(\w+)", template)
    assert key and key.group(1) in want.secrets[f"{mount}/{rest}"].data

    readable = [
        pattern
        for name in role.policies
        for pattern, caps in POLICY_PATH.findall(want.policies[name])
        if '"read"' in caps
    ]
    assert any(glob_match(p, path) for p in readable), readable


def test_the_app_reads_the_file_the_annotations_write() -> None:
    obj = deployment()
    notes = obj["spec"]["template"]["metadata"]["annotations"]
    target = f"{notes[PREFIX + 'secret-volume-path']}/db-password"
    command = " ".join(obj["spec"]["template"]["spec"]["containers"][0]["command"])
    assert target in command


def test_glob_matching() -> None:
    assert glob_match("secret/data/demo/*", "secret/data/demo/db")
    assert glob_match("+/data/demo/db", "secret/data/demo/db")
    assert not glob_match("secret/data/other/*", "secret/data/demo/db")
