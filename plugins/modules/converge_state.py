#!/usr/bin/python
"""Record the state of what a cluster.up stage's roles declare they manage, and later
tell which stages no longer hold it.

Each role lists what it manages in roles/<role>/vars/converge.yml (docs/development.md,
"Converge stages"); the stage's play hands those declarations to this module after its
roles ran. Runs on the managed host with nothing but the Python standard library,
dpkg-query and systemctl, so the same code serves every Debian host the roles support.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import stat
import subprocess
import tarfile
from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: converge_state
short_description: Record and probe the state a cluster.up stage converged
description:
  - With I(record), observes every resource the stage's roles declare (files with their
    content, mode and owner; packages with their version and hold; systemd units, enabled
    and active; kernel modules, loaded and persisted; sysctls; users; and the output of
    read-only probe commands) and keeps the observation, with the run's input
    fingerprint, in a root-only file per stage.
  - With I(probe), observes the recorded resources of the named stages again and
    returns the stages whose record is missing, whose fingerprint differs or whose
    resources drifted. Their records are removed, so a stage that then fails is never
    taken as converged.
options:
  record:
    description: The stage to record. Give I(declared) with it.
    type: str
  probe:
    description: The stages to probe.
    type: list
    elements: str
  declared:
    description:
      - One declaration per role of the stage (its vars/converge.yml), each a mapping of
        kinds to lists. C(files) entries are paths, or mappings with C(path) and one of
        C(for_each) (a list; C({item}) in the path stands for each element),
        C(unpacked_from) (an archive on the host; each of its files, or those named in
        C(include), under the folder C(path)) and C(dests_of) (a checked_download
        C(files) mapping, whose C(dest) values are the files). C(packages), C(units),
        C(kernel_modules), C(sysctls) and C(users) are names; C(probes) are commands as
        argument lists, run without a shell. C(unrecorded) maps task names to the reason
        their destinations are not kept; this module ignores it.
    type: list
    elements: dict
    default: []
  fingerprint:
    description: Digest of everything the run's outcome depends on (roles, playbook, inventory).
    type: str
    required: true
  state_dir:
    description: Where the records are kept.
    type: path
    default: /var/lib/kubeprimer/converged
"""

RETURN = r"""
pending:
  description: Each probed stage that must run, with the reason.
  type: dict
  returned: probe
drifted:
  description: Those of C(pending) that had converged before, with the reason.
  type: dict
  returned: probe
held:
  description: The probed stages whose record still holds.
  type: list
  returned: probe
recorded:
  description: How many resources the record holds.
  type: int
  returned: record
"""

KINDS = ("files", "packages", "units", "kernel_modules", "sysctls", "users", "probes")


class DeclarationError(ValueError):
    pass


def _names(decl: dict[str, Any], kind: str) -> list[str]:
    value = decl.get(kind) or []
    if isinstance(value, str) or not isinstance(value, list):
        raise DeclarationError(f"{kind} must be a list, got {value!r}")
    return [str(v) for v in value]


def file_paths(entry: Any) -> list[str]:
    """The paths one ``files`` entry names."""
    if isinstance(entry, str):
        return [entry]
    if not isinstance(entry, dict):
        raise DeclarationError(f"a files entry must be a path or a mapping, got {entry!r}")
    if "dests_of" in entry:
        return [str(spec["dest"]) for spec in (entry["dests_of"] or {}).values()]
    path = str(entry.get("path") or "")
    if not path:
        raise DeclarationError(f"a files entry needs a path: {entry!r}")
    if "for_each" in entry:
        return [path.replace("{item}", str(item)) for item in entry["for_each"] or []]
    if "unpacked_from" in entry:
        members = archive_files(str(entry["unpacked_from"]), entry.get("include"))
        return [path] + [os.path.join(path, m) for m in members]
    return [path]


def archive_files(archive: str, include: list[str] | None) -> list[str]:
    """The regular files an archive unpacks, relative to where it is unpacked: each is
    observed on its own, so deleting one of them is drift, not only the folder's mode."""
    try:
        with tarfile.open(archive) as tar:
            names = [os.path.normpath(m.name) for m in tar.getmembers() if m.isfile()]
    except (OSError, tarfile.TarError):
        return []
    wanted = {os.path.normpath(i) for i in include or []}
    return sorted(n for n in names if not wanted or n in wanted)


def resources(declared: list[dict[str, Any]]) -> list[str]:
    """Every declared resource, as ``kind:name`` (a probe's name is its argument list)."""
    found: list[str] = []
    for decl in declared:
        unknown = set(decl) - set(KINDS) - {"unrecorded"}
        if unknown:
            raise DeclarationError(f"unknown kinds {sorted(unknown)}; use {', '.join(KINDS)}")
        for entry in decl.get("files") or []:
            found += [f"file:{p}" for p in file_paths(entry)]
        for kind, prefix in (
            ("packages", "package"),
            ("units", "unit"),
            ("kernel_modules", "kmod"),
            ("sysctls", "sysctl"),
            ("users", "user"),
        ):
            found += [f"{prefix}:{name}" for name in _names(decl, kind)]
        for argv in decl.get("probes") or []:
            if isinstance(argv, str) or not isinstance(argv, list) or not argv:
                raise DeclarationError(f"a probe is a non-empty argument list, got {argv!r}")
            found.append("probe:" + json.dumps([str(a) for a in argv]))
    return sorted(set(found))


def observe_file(path: str) -> str:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    owner = f"{info.st_uid}:{info.st_gid} {stat.S_IMODE(info.st_mode):o}"
    if stat.S_ISLNK(info.st_mode):
        return f"link {os.readlink(path)}"
    if stat.S_ISDIR(info.st_mode):
        return f"dir {owner}"
    with open(path, "rb") as handle:
        return f"file {owner} {hashlib.file_digest(handle, 'sha256').hexdigest()}"


def observe_user(name: str) -> str:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return "absent"
    return f"{entry.pw_uid}:{entry.pw_gid} {entry.pw_dir} {entry.pw_shell}"


def observe_kmod(name: str) -> str:
    # Built-in modules are neither: their state never changes, which is all that matters.
    loaded = "loaded" if os.path.isdir(f"/sys/module/{name}") else "not loaded"
    kept = os.path.exists(f"/etc/modules-load.d/{name}.conf")
    return f"{loaded}, {'persisted' if kept else 'not persisted'}"


def observe_sysctl(name: str) -> str:
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as handle:
            return " ".join(handle.read().split())
    except OSError:
        return "absent"


def observe_probe(spec: str) -> str:
    """A read-only command: its exit status and a digest of its output."""
    try:
        done = subprocess.run(json.loads(spec), capture_output=True, check=False)
    except OSError as error:
        return f"cannot run: {error.strerror}"
    return f"rc {done.returncode} out {hashlib.sha256(done.stdout).hexdigest()}"


def _lines(argv: list[str]) -> list[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.stdout.splitlines()


def observe_packages(names: list[str]) -> dict[str, str]:
    # One dpkg call for all; the status's first letter is the selection (h: held).
    found = {
        line.split("\t")[0]: line.split("\t", 1)[1].strip()
        for line in _lines(
            ["dpkg-query", "-W", "-f=${Package}\t${Version} ${db:Status-Abbrev}\n", *names]
        )
        if "\t" in line
    }
    return {name: found.get(name, "absent") for name in names}


def observe_units(names: list[str]) -> dict[str, str]:
    # `systemctl show` prints one block per unit, in the order asked, each ended by a blank line.
    props = "--property=ActiveState,UnitFileState"
    blocks = "\n".join(_lines(["systemctl", "show", props, *names])).split("\n\n")
    return {name: " ".join(block.split()) for name, block in zip(names, blocks, strict=False)}


SINGLE: dict[str, Callable[[str], str]] = {
    "file": observe_file,
    "user": observe_user,
    "kmod": observe_kmod,
    "sysctl": observe_sysctl,
    "probe": observe_probe,
}
BATCHED: dict[str, Callable[[list[str]], dict[str, str]]] = {
    "package": observe_packages,
    "unit": observe_units,
}


def observe(keys: list[str]) -> dict[str, str]:
    """Each resource's current state, keyed by the resource."""
    seen: dict[str, str] = {}
    batches: dict[str, list[str]] = {}
    for key in sorted(set(keys)):
        kind, _, name = key.partition(":")
        if kind in SINGLE:
            seen[key] = SINGLE[kind](name)
        elif kind in BATCHED:
            batches.setdefault(kind, []).append(name)
        else:
            seen[key] = "unknown kind"
    for kind, names in batches.items():
        for name, state in BATCHED[kind](names).items():
            seen[f"{kind}:{name}"] = state
    return seen


def label(key: str) -> str:
    """A resource as a user reads it: a probe by its command line, not its JSON."""
    kind, _, name = key.partition(":")
    return "command: " + " ".join(json.loads(name)) if kind == "probe" else key


def record_path(state_dir: str, stage: str) -> str:
    return os.path.join(state_dir, f"{stage}.json")


def record(state_dir: str, stage: str, fingerprint: str, keys: list[str]) -> int:
    """Keep the stage's observed state; the number of resources kept."""
    path = record_path(state_dir, stage)
    data = {"fingerprint": fingerprint, "state": observe(keys)}
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    temporary = f"{path}.tmp"
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(data, handle, sort_keys=True)
    os.replace(temporary, path)
    return len(data["state"])


def why_pending(state_dir: str, stage: str, fingerprint: str) -> str | None:
    """Why the stage must run on this host, or None when its record still holds."""
    try:
        with open(record_path(state_dir, stage)) as handle:
            kept = json.load(handle)
    except (OSError, ValueError):
        return "no record of a completed run"
    if kept.get("fingerprint") != fingerprint:
        return "roles, playbook or inventory changed"
    now = observe(list(kept.get("state", {})))
    drifted = sorted(key for key, state in kept["state"].items() if now.get(key) != state)
    if drifted:
        return "changed on the host: " + ", ".join(label(key) for key in drifted[:5])
    return None


def probe(
    state_dir: str, stages: list[str], fingerprint: str, check_mode: bool
) -> tuple[dict[str, str], dict[str, str]]:
    """Every stage that must run, and among them those that had converged before.

    A stage that converged and no longer holds is news to the user; one that never
    completed is not. Outside check mode a stale record is removed, so a run that
    fails halfway cannot leave a record the host no longer matches.
    """
    pending, drifted = {}, {}
    for stage in stages:
        reason = why_pending(state_dir, stage, fingerprint)
        if reason is None:
            continue
        pending[stage] = reason
        path = record_path(state_dir, stage)
        if os.path.exists(path):
            drifted[stage] = reason
            if not check_mode:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
    return pending, drifted


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "record": {"type": "str"},
            "probe": {"type": "list", "elements": "str"},
            "declared": {"type": "list", "elements": "dict", "default": []},
            "fingerprint": {"type": "str", "required": True},
            "state_dir": {"type": "path", "default": "/var/lib/kubeprimer/converged"},
        },
        required_one_of=[("record", "probe")],
        mutually_exclusive=[("record", "probe")],
        supports_check_mode=True,
    )
    p = module.params
    if p["probe"] is not None:
        pending, drifted = probe(p["state_dir"], p["probe"], p["fingerprint"], module.check_mode)
        held = [stage for stage in p["probe"] if stage not in pending]
        module.exit_json(changed=False, pending=pending, drifted=drifted, held=held)
    try:
        keys = resources(p["declared"])
    except (DeclarationError, KeyError, TypeError) as error:
        module.fail_json(
            msg=f"The {p['record']} stage's converge declaration is not usable: {error}"
        )
    # The record is bookkeeping, not a change to the host's configuration.
    count = 0 if module.check_mode else record(p["state_dir"], p["record"], p["fingerprint"], keys)
    module.exit_json(changed=False, recorded=count)


if __name__ == "__main__":
    main()
