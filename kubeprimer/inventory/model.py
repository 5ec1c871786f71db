"""An Ansible YAML inventory as data: hosts, groups and the variables beside them.

Reads the same files Ansible reads (the inventory, then ``group_vars/`` and
``host_vars/`` next to it) so that `ansible-playbook -i` works on them unchanged.
Variables merge in Ansible's default order (its ``precedence`` setting): the inventory
file's vars of ``all``, then of the host's other groups; then the ``group_vars`` files of
``all``, then of the other groups; then the host's own vars in the inventory file, in
the order the file names them, and last its ``host_vars`` files. Groups go from least to
most specific: by depth below ``all``, then ``ansible_group_priority``, then name.
tests/unit/inventory/test_model_matches_ansible_inventory.py holds this to
``ansible-inventory`` on every fixture inventory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from kubeprimer import pins, yamlfile
from kubeprimer.errors import UserError
from kubeprimer.inventory.vaulted import Revealer
from kubeprimer.paths import ROLES

CLUSTER_DEFAULTS = ROLES / "kube_defaults" / "defaults" / "main" / "cluster.yml"
# The names Ansible's host_group_vars plugin tries for a group or host, in its order:
# the first that exists is the only one read.
_VAR_SUFFIXES = ("", ".yml", ".yaml", ".json")
_GROUP_PRIORITY = "ansible_group_priority"


@dataclass(frozen=True)
class Host:
    name: str
    vars: dict[str, Any]
    groups: frozenset[str]

    @property
    def address(self) -> str:
        """Where Ansible and Fabric connect: ``ansible_host``, else the name."""
        return str(self.vars.get("ansible_host") or self.name)

    @property
    def user(self) -> str | None:
        user = self.vars.get("ansible_user")
        return str(user) if user else None

    @property
    def port(self) -> int:
        raw = self.vars.get("ansible_port")
        if raw is None:
            return 22
        number = port_number(raw)
        if number is None:
            # The rules skip templated values (Ansible resolves them); SSH from here cannot.
            raise UserError(
                f"Host {self.name} has ansible_port {raw!r}, which cannot be used to connect from "
                "the controller; set it to a port number, 1 to 65535."
            )
        return number


def port_number(value: Any) -> int | None:
    """``value`` as a TCP port, or None: only whole numbers 1-65535 (22 or "22", not 22.0)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    # isdigit alone accepts digits int() refuses ("²"); ASCII keeps the two in step.
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text) if 0 < int(text) < 65536 else None


@dataclass
class _Group:
    name: str
    # The inventory file's vars, and the group_vars files' vars: Ansible merges them apart.
    vars: dict[str, Any] = field(default_factory=dict)
    file_vars: dict[str, Any] = field(default_factory=dict)
    hosts: set[str] = field(default_factory=set)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    priority: int = 1


@dataclass
class _Parsed:
    groups: dict[str, _Group]
    # Every host's inventory-file vars, in the order the file gives them.
    host_vars: dict[str, dict[str, Any]]
    problems: list[str]


@dataclass
class Inventory:
    path: Path
    hosts: dict[str, Host]
    groups: dict[str, list[str]]
    group_vars: dict[str, dict[str, Any]]
    # Problems found while reading that the validator reports with the rest.
    load_problems: list[str] = field(default_factory=list)

    def group(self, name: str) -> list[Host]:
        return [self.hosts[h] for h in self.groups.get(name, [])]

    @cached_property
    def settings(self) -> dict[str, Any]:
        """Cluster-wide settings: kubeprimer's defaults overlaid with the ``all`` group's vars."""
        merged = dict(cluster_defaults())
        merged.update(self.group_vars.get("all", {}))
        return merged

    @property
    def etcd_external(self) -> bool:
        """etcd runs on hosts of its own (etcd_mode: external), not stacked on the control planes."""
        return str(self.settings.get("etcd_mode", "stacked")) == "external"


def cluster_defaults() -> dict[str, Any]:
    """kube_defaults' settings, with the values it reads from the pins resolved here."""
    data = dict(yamlfile.read(CLUSTER_DEFAULTS) or {})
    data.update(pins.cluster_defaults())
    return data


def load(path: Path) -> Inventory:
    """Read an inventory file and the group_vars/host_vars beside it."""
    if path.is_dir():
        path = next((path / n for n in ("hosts.yml", "hosts.yaml") if (path / n).exists()), path)
    if not path.exists():
        raise UserError(f"{path} does not exist; pass an existing inventory with -i.")
    # Ansible reads an inventory file encrypted whole with ansible-vault, so does this.
    revealer = Revealer()
    data = revealer.read(path)
    if data is None:
        raise UserError(
            f"{path} is empty; describe your hosts in it (see inventories/sample/hosts.yml)."
        )
    if not isinstance(data, dict):
        raise UserError(
            f"{path} is not a YAML inventory (a mapping of groups); see inventories/sample/hosts.yml."
        )

    parsed = _Parsed({"all": _Group("all")}, {}, [])
    groups, problems = parsed.groups, parsed.problems
    top = data if "all" in data else {"all": {"children": data}}
    for name, body in top.items():
        _read_group(path, str(name), body, None, parsed)
    for name in groups:
        if name != "all" and not groups[name].parents:
            groups[name].parents.append("all")
            groups["all"].children.append(name)
    grouped = {h for name, g in groups.items() if name != "all" for h in g.hosts}
    if set(parsed.host_vars) - grouped or "ungrouped" in groups:
        # Ansible puts the hosts that are in no group of their own in "ungrouped".
        ungrouped = groups.setdefault("ungrouped", _Group("ungrouped", parents=["all"]))
        ungrouped.hosts |= set(parsed.host_vars) - grouped
        if "ungrouped" not in groups["all"].children:
            groups["all"].children.append("ungrouped")

    for name, group in groups.items():
        group.vars = revealer.variables(group.vars)
        group.file_vars = revealer.variables(
            _read_vars_dir(path.parent / "group_vars", name, problems, revealer)
        )

    order = _depth_order(groups)
    members = {name: sorted(_members(name, groups)) for name in groups}
    host_groups: dict[str, set[str]] = {}
    for gname, names in members.items():
        for h in names:
            host_groups.setdefault(h, set()).add(gname)

    hosts: dict[str, Host] = {}
    for hname, in_groups in host_groups.items():
        mine = [g for g in order if g in in_groups]
        merged: dict[str, Any] = {}
        for gname in mine:
            merged.update(groups[gname].vars)
        for gname in mine:
            merged.update(groups[gname].file_vars)
        merged.update(parsed.host_vars.get(hname, {}))
        merged.update(_read_vars_dir(path.parent / "host_vars", hname, problems, revealer))
        merged = revealer.variables(merged, f" of host {hname}")
        hosts[hname] = Host(hname, merged, frozenset(in_groups - {"all"}))

    return Inventory(
        path=path,
        hosts=hosts,
        groups={n: members[n] for n in groups},
        group_vars={n: {**g.vars, **g.file_vars} for n, g in groups.items()},
        load_problems=problems,
    )


def _read_group(path: Path, name: str, body: Any, parent: str | None, parsed: _Parsed) -> None:
    groups, problems = parsed.groups, parsed.problems
    group = groups.setdefault(name, _Group(name))
    if parent and parent not in group.parents:
        group.parents.append(parent)
        groups[parent].children.append(name)
    if body is None:
        return
    if not isinstance(body, dict):
        problems.append(
            f"Group {name} in {path.name} must be a mapping with hosts, vars or children."
        )
        return
    unknown = set(body) - {"hosts", "vars", "children"}
    if unknown:
        problems.append(
            f"Group {name} in {path.name} has unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            "a group holds only hosts, vars and children."
        )
    # Ansible reads a group's sections in the order the file gives them, so a host's
    # vars from two groups end as the later one says.
    for key in body:
        if key == "vars":
            for var, value in _section(body, "vars", name, path, problems).items():
                if var == _GROUP_PRIORITY:
                    group.priority = _priority(value, name, path, problems)
                else:
                    group.vars[var] = value
        elif key == "children":
            for child, child_body in _section(body, "children", name, path, problems).items():
                _read_group(path, str(child), child_body, name, parsed)
        elif key == "hosts":
            for pattern, hvars in _section(body, "hosts", name, path, problems).items():
                if hvars is not None and not isinstance(hvars, dict):
                    problems.append(
                        f"Host {pattern} in group {name} must map to its variables or be empty."
                    )
                    hvars = {}
                names, port = _host_names(str(pattern))
                for hname in names:
                    if hname not in parsed.host_vars:
                        # A port in the entry counts where the host is first named.
                        parsed.host_vars[hname] = {} if port is None else {"ansible_port": port}
                    group.hosts.add(hname)
                    parsed.host_vars[hname].update(hvars or {})


def _host_names(pattern: str) -> tuple[list[str], int | None]:
    """A hosts entry as Ansible expands it: ranges (``node[1:3]``) and ``name:port``."""
    if "[" not in pattern and ":" not in pattern:
        return [pattern], None
    # Ansible's own parsers, imported only for the entries that need them.
    from ansible.parsing.utils.addresses import parse_address  # type: ignore[import-untyped]
    from ansible.plugins.inventory import (  # type: ignore[import-untyped]
        detect_range,
        expand_hostname_range,
    )

    try:
        name, port = parse_address(pattern, allow_ranges=True)
    except Exception:  # Ansible, too, takes an entry it cannot parse as a plain name
        name, port = pattern, None
    names = expand_hostname_range(name) if detect_range(name) else [name]
    return [str(n) for n in names], None if port is None else int(port)


def _priority(value: Any, group: str, path: Path, problems: list[str]) -> int:
    """``ansible_group_priority``: a whole number that orders groups of one depth."""
    try:
        return int(value)
    except (TypeError, ValueError):
        problems.append(
            f"ansible_group_priority of group {group} in {path.name} is {value!r}; "
            "set it to a whole number."
        )
        return 1


_SECTION_SHAPES = {
    "hosts": "host names, each mapping to its variables or empty",
    "vars": "variable names to values",
    "children": "group names",
}


def _section(
    body: dict[str, Any], key: str, group: str, path: Path, problems: list[str]
) -> dict[str, Any]:
    """A group's hosts, vars or children; a list or scalar there is reported, not trusted."""
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(
            f"{key} of group {group} in {path.name} must be a mapping of {_SECTION_SHAPES[key]}, "
            f"not a {type(value).__name__}."
        )
        return {}
    return value


def _read_vars_dir(
    base: Path, name: str, problems: list[str], revealer: Revealer
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for file in _vars_files(base, name):
        data = revealer.read(file)
        if data is None:
            continue
        if isinstance(data, dict):
            merged.update(data)
        else:
            problems.append(f"{file} must be a mapping of variable names to values.")
    return merged


def _vars_files(base: Path, name: str) -> list[Path]:
    """The files Ansible reads for ``name``: the first of NAME (a folder or a file),
    NAME.yml, NAME.yaml and NAME.json that exists."""
    for suffix in _VAR_SUFFIXES:
        candidate = base / f"{name}{suffix}"
        if candidate.is_dir():
            return _folder_vars_files(candidate)
        if candidate.is_file():
            return [candidate]
    return []


def _folder_vars_files(folder: Path) -> list[Path]:
    """A vars folder as Ansible walks it: names sorted at each level; hidden files and
    backups (``~``) skipped; sub-folders without an extension entered; files read when
    they have no extension or a YAML or JSON one."""
    found: list[Path] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name.endswith("~"):
            continue
        if entry.is_dir():
            if not entry.suffix:
                found += _folder_vars_files(entry)
        elif entry.is_file() and entry.suffix in _VAR_SUFFIXES:
            found.append(entry)
    return found


def _members(name: str, groups: dict[str, _Group], seen: frozenset[str] = frozenset()) -> set[str]:
    if name in seen:
        return set()
    group = groups[name]
    found = set(group.hosts)
    for child in group.children:
        found |= _members(child, groups, seen | {name})
    return found


def _depth_order(groups: dict[str, _Group]) -> list[str]:
    """Groups from least to most specific, as Ansible applies their vars: by depth below
    ``all``, then ``ansible_group_priority``, then name."""

    def depth(name: str, seen: frozenset[str] = frozenset()) -> int:
        parents = [p for p in groups[name].parents if p not in seen]
        return 0 if not parents else 1 + max(depth(p, seen | {name}) for p in parents)

    return sorted(groups, key=lambda n: (depth(n), groups[n].priority, n))
