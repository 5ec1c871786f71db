"""The node image recipe: cached by content, and its init script is valid shell."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kubeprimer.lab import image

DEBIAN = "http://deb.debian.org/debian"


def test_key_changes_with_what_goes_into_the_image() -> None:
    base = image.image_key(DEBIAN, "bookworm")
    assert base == image.image_key(DEBIAN, "bookworm")
    assert base != image.image_key(DEBIAN, "trixie")
    assert base != image.image_key("http://mirror.example/debian", "bookworm")


def test_image_uses_the_mirror_and_its_security_archive() -> None:
    sources = image.image_files(DEBIAN, "bookworm")["etc/apt/sources.list"]
    assert f"deb {DEBIAN} bookworm main" in sources
    assert "http://deb.debian.org/debian-security bookworm-security main" in sources


def test_init_script_is_valid_shell_and_ends_in_systemd() -> None:
    subprocess.run(["sh", "-n"], input=image.INIT_SCRIPT, text=True, check=True)
    assert image.INIT_SCRIPT.rstrip().endswith('exec /sbin/init "$@"')


def test_prune_keeps_every_releases_current_image_and_removes_older_recipes(
    tmp_path: Path,
) -> None:
    current = [image.rootfs(tmp_path, image.image_key(DEBIAN, r)) for r in ("bookworm", "trixie")]
    older = image.rootfs(tmp_path, "bookworm-0123456789ab")
    building = tmp_path / "images" / ".trixie-0123456789ab.building" / "rootfs"
    for root in [*current, older, building]:
        root.mkdir(parents=True)
    image.prune(tmp_path, keep=current)
    assert all(root.is_dir() for root in [*current, building])
    assert not older.parent.exists()
