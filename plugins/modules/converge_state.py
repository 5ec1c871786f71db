#!/usr/bin/python
"""Record what a cluster.up stage left on a host, and later tell whether it still holds.

Runs on the managed host with nothing but the Python standard library and dpkg/systemctl,
so the same code serves every Debian host the roles support.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import json
import os
import pwd
import stat
import subprocess

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: converge_state
short_description: Record and probe the state a cluster.up stage converged
description:
  - In C(record) mode, observes every resource a stage's tasks managed (files, packages,
    package selections, systemd units, kernel modules, users and the output of read-only
    probe commands) and keeps the observation, with the run's input fingerprint, in a
    root-only file per stage.
  - In C(probe) mode, observes the recorded resources again and returns the stages whose
    record is missing, whose fingerprint differs or whose resources drifted. Their records
    are removed, so a stage that then fails is never taken as converged.
options:
  mode:
    description: C(record) one stage, or C(probe) several.
    type: str
    required: true
    choices: [record, probe]
  fingerprint:
    description: Digest of everything the run's outcome depends on (roles, playbook, inventory).
    type: str
    required: true
  stages:
    description: Stages to probe (mode probe) or the one stage to record (mode record).
    type: list
    elements: str
    required: true
  resources:
    description: Resources to record, as C(kind:name) strings (mode record).
    type: list
    elements: str
    default: []
  state_dir:
    description: Where the records are kept.
    type: path
    default: /var/lib/kubeprimer/converged
"""

RETURN = r"""
pending:
  description: Each stage that must run, with the reason.
  type: dict
  returned: mode probe
drifted:
  description: Those of C(pending) that had converged before, with the reason.
  type: dict
  returned: mode probe
"""


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
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"file {owner} {digest.hexdigest()}"


def observe_user(name: str) -> str:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return "absent"
    group = grp.getgrgid(entry.pw_gid).gr_name
    return f"{entry.pw_uid}:{group} {entry.pw_dir} {entry.pw_shell}"


def observe_kmod(name: str) -> str:
    return "loaded" if os.path.isdir(f"/sys/module/{name}") else "absent"


def observe_probe(spec: str) -> str:
    """A read-only command the stage ran: its exit status and output, as a digest."""
    command = json.loads(spec)
    done = subprocess.run(
        command["args"],
        shell=command["shell"],
        cwd=command.get("chdir") or None,
        capture_output=True,
        check=False,
    )
    out = hashlib.sha256(done.stdout).hexdigest()
    return f"rc {done.returncode} out {out}"


def label(resource: str) -> str:
    """A resource as a user reads it: a probe by its command line, not its JSON."""
    kind, _, name = resource.partition(":")
    if kind != "probe":
        return resource
    args = json.loads(name)["args"]
    return "command: " + (args if isinstance(args, str) else " ".join(args))


def _lines(argv: list[str]) -> list[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.stdout.splitlines()


def observe_packages(names: list[str]) -> dict[str, str]:
    # One dpkg call for all packages; a package dpkg does not know is simply not listed.
    found = {
        line.split("\t")[0]: line.split("\t", 1)[1]
        for line in _lines(
            ["dpkg-query", "-W", "-f=${Package}\t${Version} ${db:Status-Abbrev}\n", *names]
        )
        if "\t" in line
    }
    return {name: found.get(name, "absent").strip() for name in names}


def observe_selections(names: list[str]) -> dict[str, str]:
    found = dict(line.split(None, 1) for line in _lines(["dpkg", "--get-selections", *names]))
    return {name: found.get(name, "absent").strip() for name in names}


def observe_units(names: list[str]) -> dict[str, str]:
    # `systemctl show` prints one block per unit, in the order asked, each ended by a blank line.
    props = "--property=ActiveState,UnitFileState"
    blocks = "\n".join(_lines(["systemctl", "show", props, *names])).split("\n\n")
    return {name: " ".join(block.split()) for name, block in zip(names, blocks, strict=False)}


SINGLE = {"file": observe_file, "user": observe_user, "kmod": observe_kmod, "probe": observe_probe}
BATCHED = {"package": observe_packages, "selection": observe_selections, "unit": observe_units}


def observe(resources: list[str]) -> dict[str, str]:
    """Each resource's current state, keyed by the resource."""
    seen: dict[str, str] = {}
    batches: dict[str, list[str]] = {}
    for resource in sorted(set(resources)):
        kind, _, name = resource.partition(":")
        if kind in SINGLE:
            seen[resource] = SINGLE[kind](name)
        elif kind in BATCHED:
            batches.setdefault(kind, []).append(name)
        else:
            seen[resource] = "unknown kind"
    for kind, names in batches.items():
        for name, state in BATCHED[kind](names).items():
            seen[f"{kind}:{name}"] = state
    return seen


def record_path(state_dir: str, stage: str) -> str:
    return os.path.join(state_dir, f"{stage}.json")


def record(state_dir: str, stage: str, fingerprint: str, resources: list[str]) -> bool:
    """Keep the stage's observed state; True when the record changed."""
    path = record_path(state_dir, stage)
    data = {"fingerprint": fingerprint, "state": observe(resources)}
    try:
        with open(path) as handle:
            if json.load(handle) == data:
                return False
    except (OSError, ValueError):
        pass
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    temporary = f"{path}.tmp"
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(data, handle, sort_keys=True)
    os.replace(temporary, path)
    return True


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
    drifted = sorted(r for r, state in kept["state"].items() if now.get(r) != state)
    if drifted:
        return "changed on the host: " + ", ".join(label(r) for r in drifted[:5])
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
            "mode": {"type": "str", "required": True, "choices": ["record", "probe"]},
            "fingerprint": {"type": "str", "required": True},
            "stages": {"type": "list", "elements": "str", "required": True},
            "resources": {"type": "list", "elements": "str", "default": []},
            "state_dir": {"type": "path", "default": "/var/lib/kubeprimer/converged"},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["mode"] == "record":
        if module.check_mode:
            module.exit_json(changed=False)
        # The record is bookkeeping, not a change to the host's configuration.
        record(p["state_dir"], p["stages"][0], p["fingerprint"], p["resources"])
        module.exit_json(changed=False)
    pending, drifted = probe(p["state_dir"], p["stages"], p["fingerprint"], module.check_mode)
    module.exit_json(changed=False, pending=pending, drifted=drifted)


if __name__ == "__main__":
    main()
