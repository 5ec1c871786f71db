"""The collection as a user gets it: built by scripts/build-collection, installed with
``ansible-galaxy collection install`` into a folder outside the repository, and its
programs run from there with no ansible.cfg, roles path or library of the checkout."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kubeprimer.paths import ROOT
from tests.programs import BINDIR


@dataclass(frozen=True)
class Installed:
    """A clean folder holding only the installed collection."""

    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "collections" / "ansible_collections" / "kubeprimer" / "cluster"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        return {
            **env,
            "ANSIBLE_COLLECTIONS_PATH": str(self.folder / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{BINDIR}:{os.environ.get('PATH', '')}",
        }

    def run(self, program: str, *argv: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
        """``program`` from this virtualenv, in the clean folder, never raising on failure."""
        return subprocess.run(
            [str(BINDIR / program), *argv],
            cwd=self.folder,
            env=self.env(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )


def build_and_install(folder: Path) -> Installed:
    """Build the collection from the checkout and install it into ``folder``."""
    dist = folder / "dist"
    built = subprocess.run(
        [str(ROOT / "scripts" / "build-collection"), str(dist)],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{BINDIR}:{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        check=True,
    )
    tarball = Path(built.stdout.strip().splitlines()[-1])
    installed = Installed(folder)
    done = installed.run(
        "ansible-galaxy", "collection", "install", str(tarball), "-p", "collections"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return installed
