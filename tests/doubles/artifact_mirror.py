"""ArtifactMirror: a TEST DOUBLE of the Kubernetes files mirror's CONTENT, served over real HTTP.

dl.k8s.io and GitHub cannot be reached from the development and CI machines, so the
kube_artifacts role is tested against a mirror laid out exactly like upstream (the
layout ``kube_artifacts_mirror_url`` expects) whose files are small stand-ins:

- ``release/v<kube>/bin/linux/<arch>/{kubeadm,kubelet,kubectl}``: shell scripts that
  print which double they are and exit 0 (they are NOT Kubernetes);
- ``kubernetes-sigs/cri-tools/releases/download/v<v>/crictl-v<v>-linux-<arch>.tar.gz``
  holding such a ``crictl``;
- ``containernetworking/plugins/releases/download/v<v>/cni-plugins-linux-<arch>-v<v>.tgz``
  holding ``bridge``, ``host-local``, ``loopback`` and ``portmap`` stand-ins;
- a ``.sha256`` beside every file, in the formats upstream publishes (the bare hash for
  dl.k8s.io, ``<hash>  <name>`` for the GitHub releases).

The role's logic (URLs, checksum verification, unpacking, error messages) runs for real.
``python tests/doubles/artifact_mirror.py DIR [KUBE CRICTL CNI ARCH]`` builds the tree.
"""

from __future__ import annotations

import functools
import hashlib
import io
import sys
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")


def _stand_in(name: str, version: str) -> bytes:
    return f"#!/bin/sh\necho 'kubeprimer test double: {name} v{version}'\n".encode()


def _write(path: Path, data: bytes, *, bare_hash: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    line = digest if bare_hash else f"{digest}  {path.name}"
    path.with_name(path.name + ".sha256").write_text(line + "\n")


def _tarball(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            # A fixed mtime keeps the archive (and so its checksum) reproducible.
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build(root: Path, kube: str, crictl: str, cni: str, arch: str = "amd64") -> dict[str, Path]:
    """Lay the mirror out under ``root``; returns each artifact's path by name."""
    paths: dict[str, Path] = {}
    k8s = root / "release" / f"v{kube}" / "bin" / "linux" / arch
    for name in ("kubeadm", "kubelet", "kubectl"):
        paths[name] = k8s / name
        _write(paths[name], _stand_in(name, kube), bare_hash=True)
    crictl_dir = root / "kubernetes-sigs/cri-tools/releases/download" / f"v{crictl}"
    paths["crictl"] = crictl_dir / f"crictl-v{crictl}-linux-{arch}.tar.gz"
    _write(paths["crictl"], _tarball({"crictl": _stand_in("crictl", crictl)}), bare_hash=False)
    cni_dir = root / "containernetworking/plugins/releases/download" / f"v{cni}"
    paths["cni-plugins"] = cni_dir / f"cni-plugins-linux-{arch}-v{cni}.tgz"
    plugins = {f"./{p}": _stand_in(p, cni) for p in CNI_PLUGINS}
    _write(paths["cni-plugins"], _tarball(plugins), bare_hash=False)
    return paths


@contextmanager
def serve(root: Path, address: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``root`` on a free port of ``address`` (loopback, or the lab bridge's address
    for lab nodes); yields the base URL."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer((address, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{address}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    target, *versions = sys.argv[1:]
    kube, crictl, cni, arch = (versions + ["1.37.1", "1.37.0", "1.8.0", "amd64"][len(versions) :])[
        :4
    ]
    build(Path(target), kube, crictl, cni, arch)
