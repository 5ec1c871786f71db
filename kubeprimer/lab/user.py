"""The lab's sudo user: how bare metal is usually reached, as a user who may sudo.

``lab.up --user NAME`` makes the account on every node (written into the node's root
file system, like the rest of its identity): the lab's SSH key in its
authorized_keys, and passwordless sudo through a file in /etc/sudoers.d that visudo
checked before it was put in place. Root keeps the key too, for ``lab.ssh``.
"""

from __future__ import annotations

import os
from pathlib import Path

from kubeprimer.lab.host import LabFailure, run

# sudo skips files in sudoers.d whose names contain a dot: a draft is never in force.
SUDOERS = "etc/sudoers.d/kubeprimer-lab"
SUDOERS_DRAFT = "etc/sudoers.d/.kubeprimer-lab.draft"


def sudoers_rule(user: str) -> str:
    return f"{user} ALL=(ALL:ALL) NOPASSWD: ALL\n"


def _ids(root: Path, user: str) -> tuple[int, int, Path] | None:
    """uid, gid and home of ``user`` in the node's /etc/passwd, None when absent."""
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3]), Path(fields[5].lstrip("/"))
    return None


def exists(root: Path, user: str) -> bool:
    return _ids(root, user) is not None


def ensure(root: Path, user: str, pubkey: str) -> None:
    """Make ``user`` on the node whose root file system is ``root`` (idempotent)."""
    ids = _ids(root, user)
    if ids is None:
        # '*' is no password at all, unlike useradd's locked '!': sshd then takes the key
        # without relying on PAM, and sudo asks for none.
        run(
            [
                "useradd",
                "--root",
                str(root),
                "--create-home",
                "--shell",
                "/bin/bash",
                "--user-group",
                "--password",
                "*",
                user,
            ],
            what=f"add the user {user} to a lab node",
        )
        ids = _ids(root, user)
        if ids is None:
            raise LabFailure(f"useradd did not add {user} to {root / 'etc/passwd'}.")
    uid, gid, home = ids
    ssh_dir = root / home / ".ssh"
    _write(ssh_dir / "authorized_keys", pubkey, 0o600, uid, gid, dir_mode=0o700)
    rule = sudoers_rule(user)
    if _read(root / SUDOERS) != rule:
        _write(root / SUDOERS_DRAFT, rule, 0o440, 0, 0)
        run(
            ["chroot", str(root), "visudo", "--check", "--quiet", "--file", f"/{SUDOERS_DRAFT}"],
            what=f"check the sudo rule for {user}",
        )
        (root / SUDOERS_DRAFT).replace(root / SUDOERS)
    (root / SUDOERS).chmod(0o440)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _write(path: Path, text: str, mode: int, uid: int, gid: int, dir_mode: int = 0o755) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=dir_mode)
    os.chown(path.parent, uid, gid)
    path.parent.chmod(dir_mode)
    if _read(path) != text:
        path.write_text(text)
    os.chown(path, uid, gid)
    path.chmod(mode)
