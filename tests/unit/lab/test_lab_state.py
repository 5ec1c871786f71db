"""Lab records: a release per node, also for labs recorded before releases were."""

from __future__ import annotations

from pathlib import Path

from kubeprimer.lab import state

IMAGES = "/var/cache/kubeprimer/lab/images"


def test_a_record_without_releases_takes_them_from_its_image_folder() -> None:
    old = state.LabRecord("kp", 2, 5, "10.139.0.0/16", None, f"{IMAGES}/bookworm-401bcd/rootfs")
    assert old.node_releases() == ["bookworm", "bookworm"]
    assert old.release_images() == {"bookworm": f"{IMAGES}/bookworm-401bcd/rootfs"}


def test_a_mixed_record_round_trips(tmp_path: Path) -> None:
    dirs = state.LabDirs(tmp_path, "mix")
    images = {"bookworm": f"{IMAGES}/bookworm-1/rootfs", "trixie": f"{IMAGES}/trixie-2/rootfs"}
    record = state.LabRecord(
        "mix", 3, 7, "10.139.0.0/16", None, images["bookworm"],
        os=["bookworm", "trixie", "bookworm"], images=images,
    )  # fmt: skip
    state.save(dirs, record)
    loaded = state.load(dirs)
    assert loaded == record
    assert loaded.node_releases() == ["bookworm", "trixie", "bookworm"]
    assert loaded.release_images() == images
