"""What a lab owns on disk, and the host-wide lock that serialises lab changes.

Layout under the state directory (``lab_state_dir``)::

    .lock                       flock held while any lab changes
    proxy/                      the shared package proxy's config, pid and log
    <lab>/lab.json              the lab's record (size, slot, inventory path)
    <lab>/id_ed25519            the lab's SSH key (0600) and known_hosts
    <lab>/nodes/<node>/         upper/ work/ root/ (overlay), containerd/, pid, console.log
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

RECORD = "lab.json"


@dataclass
class LabRecord:
    """Written before a lab creates anything, so lab.down knows what to remove."""

    name: str
    size: int
    slot: int
    supernet: str
    inventory: str | None
    image: str
    hostnames: list[str] | None = None
    user: str = "root"
    # One Debian release per node, and the image each release's nodes were made from.
    # Records written before labs had a release per node have neither: ``image`` then
    # names the one image, whose folder starts with its release.
    os: list[str] | None = None
    images: dict[str, str] | None = None

    def node_releases(self) -> list[str]:
        if self.os:
            return list(self.os)
        return [Path(self.image).parent.name.split("-")[0]] * self.size

    def release_images(self) -> dict[str, str]:
        if self.images:
            return dict(self.images)
        return {self.node_releases()[0]: self.image} if self.image else {}


class LabDirs:
    def __init__(self, state_dir: Path, name: str) -> None:
        self.state_dir = state_dir
        self.root = state_dir / name

    @property
    def record(self) -> Path:
        return self.root / RECORD

    @property
    def key(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    def node(self, node: str) -> Path:
        return self.root / "nodes" / node


def load(dirs: LabDirs) -> LabRecord | None:
    try:
        return LabRecord(**json.loads(dirs.record.read_text()))
    except FileNotFoundError:
        return None


def save(dirs: LabDirs, record: LabRecord) -> None:
    dirs.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = dirs.record.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2) + "\n")
    tmp.replace(dirs.record)


def all_labs(state_dir: Path) -> dict[str, LabRecord]:
    labs = {}
    if state_dir.is_dir():
        for record in sorted(state_dir.glob(f"*/{RECORD}")):
            with contextlib.suppress(ValueError, TypeError, OSError):
                labs[record.parent.name] = LabRecord(**json.loads(record.read_text()))
    return labs


@contextlib.contextmanager
def locked(state_dir: Path) -> Iterator[None]:
    """One lab change at a time on this host (concurrent labs share the proxy and slots)."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd = os.open(state_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
