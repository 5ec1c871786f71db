"""Secrets the roles write beside an inventory are ignored by git.

The paths come from the roles themselves: every file or folder a task writes on the
controller (``delegate_to: localhost``, or ``fetch``'s destination), rendered with the
role's own defaults for an inventory kept in this repository. A role that starts
writing a new secret folder beside the inventory fails this test until .gitignore
covers it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.cluster.kubeconfig import DEFAULT_RELATIVE
from kubeprimer.paths import ROLES, ROOT

# A path rendered from one of these keys names something the task writes.
_WRITTEN = ("path", "dest")


def _tasks(items: Any) -> Iterator[dict[str, Any]]:
    for task in items or []:
        if not isinstance(task, dict):
            continue
        yield task
        for section in ("block", "rescue", "always"):
            yield from _tasks(task.get(section))


def _written_on_controller(task: dict[str, Any]) -> Iterator[str]:
    for module, args in task.items():
        if not isinstance(args, dict) or "." not in module:
            continue
        on_controller = task.get("delegate_to") == "localhost" or module.endswith(".fetch")
        if not on_controller:
            continue
        # For a folder, what matters is that whatever is put in it is ignored.
        inside = "/any-file" if args.get("state") == "directory" else ""
        for key, value in args.items():
            if key.endswith(_WRITTEN) and isinstance(value, str):
                yield value + inside


def _role_vars(role: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for part in ("defaults", "vars"):
        file = role / part / "main.yml"
        if file.is_file():
            found.update(yaml.safe_load(file.read_text()) or {})
    return found


def controller_paths(inventory_dir: Path) -> set[Path]:
    """Every path under ``inventory_dir`` a role writes on the controller."""
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    def trusted(value: Any) -> Any:
        return trust_as_template(value) if isinstance(value, str) else value

    found: set[Path] = set()
    for role in sorted(p for p in ROLES.iterdir() if (p / "tasks").is_dir()):
        variables = {k: trusted(v) for k, v in _role_vars(role).items()}
        variables |= {"inventory_dir": str(inventory_dir), "inventory_hostname": "cp1"}
        templar = Templar(loader=DataLoader(), variables=variables)
        for file in sorted((role / "tasks").glob("*.yml")):
            for task in _tasks(yaml.safe_load(file.read_text())):
                for raw in _written_on_controller(task):
                    try:
                        path = Path(str(templar.template(trust_as_template(raw))))
                    except AnsibleError:
                        continue  # depends on run-time facts; not a fixed location
                    if path.is_relative_to(inventory_dir):
                        found.add(path)
    return found | {inventory_dir / DEFAULT_RELATIVE}


def _ignored(paths: set[Path]) -> set[Path]:
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=ROOT,
        input="\n".join(str(p) for p in sorted(paths)),
        capture_output=True,
        text=True,
        check=False,
    )
    return {Path(line) for line in done.stdout.splitlines()}


@pytest.mark.parametrize("inventory", ["inventories/prod", "clusters/eu/west", "."])
def test_secrets_written_beside_an_inventory_are_ignored(inventory: str) -> None:
    inventory_dir = (ROOT / inventory).resolve()
    written = controller_paths(inventory_dir)
    # The scan must find the secrets the issue names, or it proves nothing.
    names = {p.name for p in written}
    assert {"restic-password", "id_ed25519", "ca.key", "admin.conf"} <= names, names
    assert sorted(map(str, written - _ignored(written))) == []


@pytest.mark.parametrize("protection", ["plain", "age", "pgp"])
def test_vault_init_output_is_ignored_wherever_it_is_put(protection: str) -> None:
    """vault.init --out takes any folder; one beside an inventory must not be committed."""
    from kubeprimer.vault.init import Protection, output_names

    given = {
        "plain": Protection(),
        "age": Protection(age_recipients=Path("recipients")),
        "pgp": Protection(pgp_keys=(Path("a.asc"), Path("b.asc"), Path("c.asc"))),
    }[protection]
    folder = ROOT / "inventories" / "prod" / "vault-init"
    written = {folder / name for name in output_names(3, given)}
    assert sorted(map(str, written - _ignored(written))) == []
