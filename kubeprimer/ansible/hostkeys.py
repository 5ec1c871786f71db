"""SSH host keys: one ``known_hosts`` file beside the inventory, for every connection.

A host's first contact records its key there (trust on first use, OpenSSH's
``accept-new``); from then on ssh itself refuses a host whose key differs, before
anything (a join token, a password) is sent to it. Preflight and every playbook run
connect with the same options, so they trust the same keys.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubeprimer.paths import ANSIBLE_CFG

FILE_NAME = "known_hosts"
# The play that opens a fresh connection to every host before a playbook runs.
GATE = Path(__file__).with_name("host_keys.yml")
# What ssh prints when a recorded key no longer matches; it names the key's host entry.
_CHANGED = re.compile(r"Host key for (\S+) has changed")
# What ssh prints, in strict mode, for a host the file holds no key for.
_UNKNOWN = re.compile(r"No \S+ host key is known for (\S+) and you have requested strict")
_REFUSED = ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED")
# Connection plugins that speak SSH without OpenSSH, so without the options set here.
_OWN_SSH = ("paramiko", "paramiko_ssh", "libssh")


def known_hosts(inventory: Path) -> Path:
    """``<inventory dir>/known_hosts``, wherever the inventory file is."""
    directory = inventory if inventory.is_dir() else inventory.parent
    return directory.resolve() / FILE_NAME


def checking(known: Path) -> str:
    """StrictHostKeyChecking for ``known``: ``accept-new`` records a first contact's key;
    where the file cannot be written (a read-only checkout), ``yes`` refuses a host it
    holds no key for, instead of trusting it again on every run without a record."""
    writable = os.access(known, os.W_OK) if known.exists() else os.access(known.parent, os.W_OK)
    return "accept-new" if writable else "yes"


def ssh_config(known: Path, runs_dir: Path) -> Path:
    """An ssh config file for ``-F``: ProxyJump hands ``-F`` (and no ``-o`` option) to
    the ssh that reaches the bastion, so this is how the bastion's key is checked
    against the same file. The user's and the system's own configs still apply after it."""
    text = (
        f'UserKnownHostsFile "{known}"\n'
        f"StrictHostKeyChecking {checking(known)}\n"
        # Readable names, so a site can review and commit the file.
        "HashKnownHosts no\n"
        "Include ~/.ssh/config\n"
        "Include /etc/ssh/ssh_config\n"
    )
    directory = runs_dir / "ssh"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / f"{hashlib.sha256(str(known).encode()).hexdigest()[:16]}.config"
    if not path.is_file() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


def configured_ssh_args() -> str:
    """``ssh_args`` of the project's ansible.cfg (multiplexing, keep-alives)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ANSIBLE_CFG)
    return parser.get("ssh_connection", "ssh_args", fallback="")


def ssh_args(inventory: Path, runs_dir: Path) -> str:
    """Ansible's ``ssh_args`` for runs on ``inventory``: ansible.cfg's, with host keys
    checked against the inventory's file. They come before a host's
    ``ansible_ssh_common_args``, and ssh keeps the first value of an option."""
    known = known_hosts(inventory)
    ours = [
        "-o",
        f"UserKnownHostsFile={known}",
        "-o",
        f"StrictHostKeyChecking={checking(known)}",
        "-F",
        str(ssh_config(known, runs_dir.resolve())),
    ]
    return f"{shlex.join(ours)} {configured_ssh_args()}".strip()


def environment(inventory: Path, runs_dir: Path) -> dict[str, str]:
    """What an Ansible process needs in its environment to check host keys this way."""
    return {
        "ANSIBLE_SSH_ARGS": ssh_args(inventory, runs_dir),
        # ansible-runner turns checking off unless told otherwise.
        "ANSIBLE_HOST_KEY_CHECKING": "True",
    }


def gate_playbook(inventory: Path, runs_dir: Path, log_dir: Path, playbook: Path) -> Path:
    """The host key check (``host_keys.yml``) with this run's ssh options, for the
    hosts ``playbook`` reaches, in the run's folder."""
    plays = yaml.safe_load(GATE.read_text())
    for play in plays:
        play["hosts"] = reached_hosts(playbook)
        play["vars"]["ansible_ssh_args"] += " " + ssh_args(inventory, runs_dir)
    path = log_dir / GATE.name
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


def reached_hosts(playbook: Path) -> str:
    """A host pattern covering every host the playbook's plays address: their patterns'
    groups and hosts without exclusions, intersections or indexes, so a host that is
    down but not used (a worker, for an etcd task) does not stop the run."""
    found: list[str] = []
    for play in yaml.safe_load(playbook.read_text()) or []:
        if "import_playbook" in play:
            found.append(reached_hosts(playbook.parent / str(play["import_playbook"])))
            continue
        pattern = play.get("hosts", "all")
        parts = pattern if isinstance(pattern, list) else re.split(r"[:,]", str(pattern))
        if "{{" in str(pattern):
            return "all"
        found += [
            re.sub(r"\[.*\]$", "", str(part).strip())
            for part in parts
            if str(part).strip() and str(part).strip()[0] not in "!&"
        ]
    return ",".join(dict.fromkeys(p for p in found if p)) or "all"


def entries(known: Path) -> set[str]:
    """The file's key lines; one that cannot be read as text is bad input, as ssh
    would silently skip what it cannot parse."""
    from kubeprimer.errors import UserError
    from kubeprimer.yamlfile import text_of

    if known.is_dir():
        raise UserError(
            f"{display(known)} is a folder, where kubeprimer keeps the hosts' SSH keys in a "
            "file of that name; move the folder away."
        )
    if not known.exists():
        return set()
    lines = text_of(known).splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def fingerprint(key_blob: str) -> str:
    """``SHA256:...`` as ssh-keygen -l prints it."""
    digest = hashlib.sha256(base64.b64decode(key_blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def entry_names(inventory: Path) -> dict[str, str]:
    """known_hosts name (the address ssh connects to) -> inventory host name; a host
    that replaces the ssh options kubeprimer sets is bad input."""
    from kubeprimer.errors import UserError
    from kubeprimer.inventory import load

    try:
        hosts = load(inventory).hosts.values()
    except (UserError, OSError, ValueError):
        # Names only make the messages friendlier; an inventory Ansible reads but
        # kubeprimer's model does not (INI, a plugin) still gets addresses.
        return {}
    overriding = sorted(h.name for h in hosts if "ansible_ssh_args" in h.vars)
    if overriding:
        raise UserError(
            f"{', '.join(overriding)} set ansible_ssh_args, which would replace the options "
            "that check SSH host keys; put your SSH options in ansible_ssh_common_args or "
            "ansible_ssh_extra_args instead."
        )
    own_ssh = sorted(h.name for h in hosts if _own_ssh(h.vars.get("ansible_connection")))
    if own_ssh:
        raise UserError(
            f"{', '.join(own_ssh)} set ansible_connection to an SSH library that ignores "
            f"{FILE_NAME} beside the inventory (and waits for an answer to an unknown key); "
            "remove the setting to connect with OpenSSH, which checks the keys there."
        )
    return {(h.address if h.port == 22 else f"[{h.address}]:{h.port}"): h.name for h in hosts}


def _own_ssh(connection: object) -> bool:
    """paramiko and libssh keep their own known_hosts and host key policy."""
    name = str(connection or "").rsplit(".", 1)[-1]
    return name in _OWN_SSH


def recorded_lines(known: Path, before: set[str], names: dict[str, str]) -> list[str]:
    """One line per key recorded since ``before``: which host, which key, where."""
    found = []
    for entry in sorted(entries(known) - before):
        parts = entry.split()
        if len(parts) < 3:
            continue
        hosts, kind, blob = parts[:3]
        whose = ", ".join(_label(h, names) for h in hosts.split(","))
        found.append(
            f"Recorded the SSH host key of {whose} in {display(known)} (first contact, "
            f"trusted from now on): {kind} {fingerprint(blob)}."
        )
    return found


def _label(entry: str, names: dict[str, str]) -> str:
    return f"{names[entry]} ({entry})" if entry in names else entry


@dataclass
class Refusals:
    """Hosts whose connection ssh refused over their host key, from Ansible's events."""

    known: Path
    names: dict[str, str]
    messages: dict[str, str] = field(default_factory=dict)

    def note(self, event: dict[str, Any]) -> None:
        if event.get("event") != "runner_on_unreachable":
            return
        data = event.get("event_data") or {}
        message = str((data.get("res") or {}).get("msg", ""))
        if refused(message):
            self.messages[str(data.get("host", "?"))] = message

    def sentences(self) -> list[str]:
        return [
            sentence(host, msg, self.known, self.names)
            for host, msg in sorted(self.messages.items())
        ]


def refused(message: str) -> bool:
    return any(marker in message for marker in _REFUSED)


def sentence(host: str, message: str, known: Path, names: dict[str, str]) -> str:
    """One sentence: whose key, where it was recorded, and the command that accepts it."""
    unknown = _UNKNOWN.search(message)
    match = unknown or _CHANGED.search(message)
    entry = match.group(1) if match else host
    if names.get(entry) == host or entry == host:
        whose = _label(entry, names)
    else:
        whose = f"{_label(entry, names)}, on the way to {host},"
    if unknown:
        return (
            f"The SSH host key of {whose} is not in {display(known)}, which kubeprimer cannot "
            "write to record it on first contact: make the file (or its folder) writable, or "
            "add the host's key to it yourself, and run again."
        )
    return (
        f"The SSH host key of {whose} differs from the one recorded in {display(known)}: "
        f"if the host was reinstalled or its key replaced on purpose, accept the new key "
        f"with `ssh-keygen -R {shlex.quote(entry)} -f {shlex.quote(display(known))}` and run "
        "again; otherwise someone may be intercepting the connection."
    )


def display(path: Path) -> str:
    """The path as a user typed it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
