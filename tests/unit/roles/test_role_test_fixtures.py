"""The fixtures the host-role tests rely on are self-consistent: a wrong digest here
would make a role test fail for the fixture's sake, or pass for the wrong reason."""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
from pathlib import Path

from tests.doubles import artifact_mirror
from tests.fixtures import oci_archive


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_mirror_checksum_files_match_their_files_in_upstream_formats(tmp_path: Path) -> None:
    paths = artifact_mirror.build(tmp_path, "1.36.2", "1.36.0", "1.8.0")
    for name, path in paths.items():
        published = path.with_name(path.name + ".sha256").read_text().split()
        assert published[0] == _sha(path.read_bytes()), name
        # dl.k8s.io publishes the bare hash; GitHub releases add the file name.
        assert published[1:] == ([] if name in ("kubeadm", "kubelet", "kubectl") else [path.name])
    assert paths["kubeadm"] == tmp_path / "release/v1.36.2/bin/linux/amd64/kubeadm"
    with tarfile.open(paths["cni-plugins"]) as tar:
        assert sorted(m.name.lstrip("./") for m in tar) == sorted(artifact_mirror.CNI_PLUGINS)


def test_oci_archive_digests_chain_from_index_to_layer(tmp_path: Path) -> None:
    binary = tmp_path / "busybox"
    binary.write_bytes(b"\x7fELF not really, but bytes all the same")
    out = tmp_path / "image.tar"
    digest = oci_archive.build(out, "docker.io/kubeprimer/busybox:test", binary)
    with tarfile.open(out) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    index = json.loads(files["index.json"])
    entry = index["manifests"][0]
    assert entry["digest"] == digest
    assert entry["annotations"]["io.containerd.image.name"] == "docker.io/kubeprimer/busybox:test"
    manifest_bytes = files[f"blobs/sha256/{digest[7:]}"]
    assert _sha(manifest_bytes) == digest[7:] and len(manifest_bytes) == entry["size"]
    manifest = json.loads(manifest_bytes)
    config = json.loads(files[f"blobs/sha256/{manifest['config']['digest'][7:]}"])
    layer = files[f"blobs/sha256/{manifest['layers'][0]['digest'][7:]}"]
    assert _sha(layer) == manifest["layers"][0]["digest"][7:]
    assert config["rootfs"]["diff_ids"] == [f"sha256:{_sha(gzip.decompress(layer))}"]
    # Building twice gives the same bytes: the scenario's archive is reproducible.
    assert (
        oci_archive.build(tmp_path / "again.tar", "docker.io/kubeprimer/busybox:test", binary)
        == digest
    )
