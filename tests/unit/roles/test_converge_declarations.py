"""Every destination a cluster.up stage's roles write is declared in the role's
vars/converge.yml, so converge_state records it and a change to it is drift.

The tasks YAML is read as written: each task reachable from the role's tasks/main.yml
that writes a file (template, copy, file, unarchive, get_url, lineinfile, blockinfile,
replace, the community.crypto key and certificate modules, checked_download) names its
destination as an expression, and the same expression must be a declared path. A loop
item in a destination is ``{item}`` in the declaration (``for_each`` lists them); a
literal loop is expanded first. An archive is unpacked either with its members listed
(``include``) and each declared as a file, or into a folder declared with
``unpacked_from``, so each unpacked binary is observed on its own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.paths import PLAYBOOKS, ROLES

# Modules that write a destination, and the arguments that name it.
WRITERS = {
    "template": ("dest",),
    "copy": ("dest",),
    "file": ("path", "dest", "name"),
    "unarchive": ("dest",),
    "get_url": ("dest",),
    "lineinfile": ("path", "dest", "destfile", "name"),
    "blockinfile": ("path", "dest", "destfile", "name"),
    "replace": ("path", "dest", "destfile", "name"),
    "ini_file": ("path", "dest"),
    "assemble": ("dest",),
    "openssl_privatekey": ("path",),
    "openssl_csr": ("path",),
    "openssl_publickey": ("path",),
    "x509_certificate": ("path",),
    "checked_download": (),
}
_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
_KEYWORDS = {"name", "when", "loop", "loop_control", "register", "notify", "tags", "vars"}


def normalize(text: Any) -> str:
    """An expression in one spelling; any part that depends on a loop item is ``{item}``."""

    def one(match: re.Match[str]) -> str:
        inner = " ".join(match.group(1).split())
        return "{item}" if re.search(r"\bitem\b", inner) else "{{ " + inner + " }}"

    return _EXPR.sub(one, " ".join(str(text).split()))


def expand(value: Any, loop: Any) -> list[str]:
    """``value`` for each element of a literal loop, else as one expression."""
    if not isinstance(loop, list):
        return [normalize(value)]
    found = []
    for element in loop:
        text = str(value)
        if isinstance(element, dict):
            for key, sub in element.items():
                text = re.sub(r"\{\{\s*item\." + re.escape(key) + r"\s*\}\}", str(sub), text)
        else:
            text = re.sub(r"\{\{\s*item\s*\}\}", str(element), text)
        found.append(normalize(text))
    return found


def module_of(task: dict[str, Any]) -> tuple[str, Any]:
    for key, args in task.items():
        if key not in _KEYWORDS and not key.startswith(("with_", "ansible.builtin.include")):
            short = key.rsplit(".", 1)[-1]
            if short in WRITERS or short in ("import_tasks", "include_tasks"):
                return short, args
    return "", None


def reachable_tasks(role: Path, name: str = "main.yml") -> list[dict[str, Any]]:
    """The tasks of ``tasks/<name>`` and of the task files it imports or includes."""
    found: list[dict[str, Any]] = []
    for task in _flatten(yaml.safe_load((role / "tasks" / name).read_text()) or []):
        for key in ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks"):
            if isinstance(task.get(key), str) and "{{" not in task[key]:
                found += reachable_tasks(role, task[key])
        found.append(task)
    return found


def _flatten(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for task in tasks:
        if "block" in task:
            for part in ("block", "rescue", "always"):
                found += _flatten(task.get(part) or [])
        else:
            found.append(task)
    return found


def written(task: dict[str, Any]) -> list[tuple[str, str]]:
    """(destination, how it must be declared) for each destination the task writes:
    ``path``, or ``unpacked`` for a folder an archive is unpacked into whole."""
    module, args = module_of(task)
    if module not in WRITERS or not isinstance(args, dict):
        return []
    loop = task.get("loop", task.get("with_items"))
    if module == "checked_download":
        found = [(d, "path") for v in args.get("directories") or [] for d in expand(v, loop)]
        files = args.get("files")
        if isinstance(files, dict):
            return found + [(normalize(spec["dest"]), "path") for spec in files.values()]
        return [*found, (normalize(files), "dests_of")]
    dests = [d for key in WRITERS[module] if key in args for d in expand(args[key], loop)]
    if module == "unarchive":
        include = args.get("include")
        if isinstance(include, list):
            return [(f"{d}/{member}", "path") for d in dests for member in include]
        return [(d, "unpacked") for d in dests]
    return [(d, "path") for d in dests]


def declared(decl: dict[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for entry in decl.get("files") or []:
        if isinstance(entry, str):
            found.add((normalize(entry), "path"))
        elif "dests_of" in entry:
            found.add((normalize(entry["dests_of"]), "dests_of"))
        else:
            found.add((normalize(entry["path"]), "path"))
            if "unpacked_from" in entry:
                found.add((normalize(entry["path"]), "unpacked"))
    return found


def declaration(role: Path) -> dict[str, Any]:
    data = yaml.safe_load((role / "vars" / "converge.yml").read_text())
    return dict(data[f"_{role.name}_converge"])


def undeclared(role: Path, decl: dict[str, Any]) -> list[str]:
    """Each destination a task of the role writes that the declaration lacks."""
    have, exempt = declared(decl), set(decl.get("unrecorded") or {})
    return [
        f"{task.get('name')}: {dest}"
        + (" (declare the folder with unpacked_from)" if how == "unpacked" else "")
        for task in reachable_tasks(role)
        if task.get("name") not in exempt
        for dest, how in written(task)
        if (dest, how) not in have
    ]


# The playbooks name the collection's roles and modules fully (docs/collection.md).
COLLECTION = "kubeprimer.cluster."
CONVERGE_STATE = f"{COLLECTION}converge_state"


def stage_plays() -> list[dict[str, Any]]:
    """The plays of cluster.yml that record a stage."""
    return [
        play
        for play in yaml.safe_load((PLAYBOOKS / "cluster.yml").read_text())
        if any(CONVERGE_STATE in task for task in play.get("post_tasks") or [])
    ]


def roles_of(play: dict[str, Any]) -> list[str]:
    """The play's roles by their names in roles/, kube_defaults (every role's base) left out."""
    names = [r["role"].removeprefix(COLLECTION) for r in play["roles"]]
    return [name for name in names if name != "kube_defaults"]


def stage_roles() -> list[str]:
    return sorted({r for play in stage_plays() for r in roles_of(play)})


def test_the_stages_are_the_ones_users_know() -> None:
    records = [t[CONVERGE_STATE]["record"] for p in stage_plays() for t in p["post_tasks"]]
    assert records == ["controller_ca", "etcd_hosts", "nodes", "api_endpoint", "kube_artifacts"]


@pytest.mark.parametrize("play", stage_plays(), ids=lambda p: p["name"])
def test_each_stage_records_what_all_its_roles_declare(play: dict[str, Any]) -> None:
    roles = roles_of(play)
    task = next(t[CONVERGE_STATE] for t in play["post_tasks"] if CONVERGE_STATE in t)
    assert play["vars_files"] == [f"../roles/{r}/vars/converge.yml" for r in roles]
    assert task["declared"] == [f"{{{{ _{r}_converge }}}}" for r in roles]
    assert play["hosts"].endswith(f":&kubeprimer_stage_{task['record']}")


@pytest.mark.parametrize("role", stage_roles())
def test_every_destination_a_role_writes_is_declared(role: str) -> None:
    path = ROLES / role
    missing = undeclared(path, declaration(path))
    assert not missing, f"roles/{role}/vars/converge.yml does not declare: {missing}"


def test_an_undeclared_destination_is_found(tmp_path: Path) -> None:
    role = tmp_path / "demo"
    (role / "tasks").mkdir(parents=True)
    (role / "tasks" / "main.yml").write_text(
        yaml.safe_dump(
            [
                {"name": "Include", "ansible.builtin.import_tasks": "configure.yml"},
            ]
        )
    )
    (role / "tasks" / "configure.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Write the settings",
                    "block": [
                        {
                            "name": "Write it",
                            "ansible.builtin.template": {
                                "src": "a.j2",
                                "dest": "{{demo_dir}}/a.conf",
                            },
                        }
                    ],
                },
                {
                    "name": "Unpack the tools",
                    "ansible.builtin.unarchive": {"src": "/tmp/t.tgz", "dest": "/opt/tools"},
                },
                {
                    "name": "Create the folders",
                    "ansible.builtin.file": {"path": "{{ item.path }}", "state": "directory"},
                    "loop": [{"path": "/etc/demo"}, {"path": "/var/lib/demo"}],
                },
                {
                    "name": "Write each site",
                    "ansible.builtin.copy": {
                        "dest": "/etc/demo/{{ item.key }}.conf",
                        "content": "",
                    },
                    "loop": "{{ demo_sites | dict2items }}",
                },
            ]
        )
    )
    assert undeclared(role, {"files": ["/opt/tools", "/etc/demo"]}) == [
        "Write it: {{ demo_dir }}/a.conf",
        "Unpack the tools: /opt/tools (declare the folder with unpacked_from)",
        "Create the folders: /var/lib/demo",
        "Write each site: /etc/demo/{item}.conf",
    ]
    complete = {
        "files": [
            "{{ demo_dir }}/a.conf",
            {"path": "/opt/tools", "unpacked_from": "/tmp/t.tgz"},
            "/etc/demo",
            "/var/lib/demo",
            {"path": "/etc/demo/{item}.conf", "for_each": "{{ demo_sites.keys() | list }}"},
        ]
    }
    assert undeclared(role, complete) == []
