"""roles/containerd's default source (upstream's release tarball, runc's release binary,
upstream's unit) installed on a lab node from a mirror served over real HTTP.

No containerd release can be downloaded here, so the mirror's files are a TEST DOUBLE of
upstream's, laid out as upstream publishes them: Debian's own containerd, its shim, ctr
and runc (from the distribution's packages, real programs) packed as
``containerd/containerd/releases/download/v<v>/containerd-<v>-linux-amd64.tar.gz`` with
``bin/`` inside and the ``.sha256sum`` beside it, and
``opencontainers/runc/releases/download/v<v>/runc.amd64`` with the ``runc.sha256sum`` list
naming every file of the release. The versions are the packages' upstream versions
(1.6.x), so containerd reads the version 2 configuration the role renders for them; the
version 3 configuration of containerd 2 is checked against its schema in
tests/unit/roles/test_containerd_config.py.

The role runs for real: download and checksum checks through the mirror, unpacking,
install, unit, configuration, service; containerd runs and ``ctr version`` answers, a
second run changes nothing, a new version replaces the binaries, restarts containerd
once and leaves no earlier release in the cache, and a file that does not match its published checksum stops the run with one
sentence and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.doubles import artifact_mirror
from tests.integration.conftest import RunningLab
from tests.integration.playbook import play_roles

pytestmark = pytest.mark.integration

BINARIES = ("containerd", "containerd-shim-runc-v2", "ctr")
BIN = "/usr/local/bin"
INSTALLED = [f"{BIN}/{name}" for name in (*BINARIES, "runc")]
UNIT = "/usr/local/lib/systemd/system/containerd.service"


def _deb_binaries(workdir: Path) -> tuple[dict[str, bytes], str, str]:
    """Debian's containerd, shim, ctr and runc, with the upstream versions they are."""
    debs = workdir / "debs"
    debs.mkdir()
    got = subprocess.run(
        ["apt-get", "download", "-q", "containerd", "runc"],
        cwd=debs,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if got.returncode != 0:
        pytest.skip(f"Debian's containerd and runc packages cannot be downloaded: {got.stderr}")
    files: dict[str, bytes] = {}
    versions: dict[str, str] = {}
    for deb in debs.glob("*.deb"):
        package, version = deb.name.split("_")[:2]
        versions[package] = re.sub(r"[~+].*$", "", version.replace("%3a", ":").split(":")[-1])
        tree = workdir / package
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True, timeout=120)
        for name in (*BINARIES, "runc"):
            for folder in ("usr/bin", "usr/sbin"):
                if (tree / folder / name).is_file():
                    files[name] = (tree / folder / name).read_bytes()
    assert set(files) == {*BINARIES, "runc"}, sorted(files)
    return files, versions["containerd"], versions["runc"]


def _publish(root: Path, relative: str, data: bytes, sums: dict[str, bytes] | None = None) -> Path:
    """Write one release file and its checksum file as upstream names them."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    listing = sums or {path.name: data}
    lines = [f"{hashlib.sha256(b).hexdigest()}  {n}" for n, b in listing.items()]
    sum_name = "runc.sha256sum" if sums else path.name + ".sha256sum"
    (path.parent / sum_name).write_text("\n".join(lines) + "\n")
    return path


def publish_release(root: Path, files: dict[str, bytes], containerd: str, runc: str) -> Path:
    """Lay out one containerd release and its runc as upstream does; returns the tarball."""
    tarball = artifact_mirror._tarball({f"bin/{n}": files[n] for n in BINARIES})
    name = f"containerd-{containerd}-linux-amd64.tar.gz"
    path = _publish(root, f"containerd/containerd/releases/download/v{containerd}/{name}", tarball)
    # runc publishes one checksum list for every file of its release.
    release = {"runc.amd64": files["runc"], "runc.arm64": b"not this architecture"}
    _publish(
        root, f"opencontainers/runc/releases/download/v{runc}/runc.amd64", files["runc"], release
    )
    return path


class Release:
    def __init__(self, root: Path, files: dict[str, bytes], containerd: str, runc: str) -> None:
        self.root, self.files, self.containerd, self.runc = root, files, containerd, runc


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    work = tmp_path_factory.mktemp("containerd-release")
    files, containerd, runc = _deb_binaries(work)
    root = work / "mirror"
    publish_release(root, files, containerd, runc)
    return Release(root, files, containerd, runc)


@pytest.fixture(scope="module")
def node(lab: RunningLab) -> Iterator[str]:
    """A lab node left as it was found: what the role installs is removed afterwards."""
    name = lab.nodes[-1]
    yield name
    lab.ssh(
        name,
        "systemctl disable --now containerd 2>/dev/null; "
        f"rm -rf {' '.join(INSTALLED)} {UNIT} /etc/containerd /var/cache/kubeprimer/containerd "
        "/etc/systemd/system/containerd.service.d; systemctl daemon-reload",
        check=False,
    )


@pytest.fixture(scope="module")
def mirror(lab: RunningLab, release: Release) -> Iterator[str]:
    with artifact_mirror.serve(release.root, str(lab.status.plan.gateway)) as url:
        yield url


def converge(
    lab: RunningLab, node: str, mirror: str, workdir: Path, version: str, runc: str
) -> subprocess.CompletedProcess[str]:
    settings = {
        "containerd_source": "tarball",
        "containerd_version": version,
        "containerd_runc_version": runc,
        "containerd_mirror_url": mirror,
        "containerd_download_timeout": 20,
        # The mirror is on the lab bridge, not behind the lab's package proxy.
        "proxy_no_proxy": [mirror.split("//")[1].split(":")[0]],
    }
    return play_roles(
        lab.inventory, node, [("containerd", "main")], workdir, "-e", json.dumps(settings)
    )


def changed(result: subprocess.CompletedProcess[str], node: str) -> int:
    line = next(x for x in result.stdout.splitlines() if x.startswith(node) and "changed=" in x)
    return int(line.split("changed=")[1].split()[0])


def sha256s(lab: RunningLab, node: str) -> str:
    return lab.ssh(node, f"sha256sum {' '.join(INSTALLED)}").stdout


@pytest.fixture(scope="module")
def installed(
    lab: RunningLab,
    node: str,
    mirror: str,
    release: Release,
    tmp_path_factory: pytest.TempPathFactory,
) -> subprocess.CompletedProcess[str]:
    work = tmp_path_factory.mktemp("containerd-first")
    return converge(lab, node, mirror, work, release.containerd, release.runc)


def test_installs_from_the_mirror_and_containerd_answers(
    lab: RunningLab, node: str, installed: subprocess.CompletedProcess[str], release: Release
) -> None:
    assert installed.returncode == 0, (installed.stdout + installed.stderr)[-4000:]
    for name in (*BINARIES, "runc"):
        want = hashlib.sha256(release.files[name]).hexdigest()
        assert f"{want}  {BIN}/{name}" in sha256s(lab, node), name
    assert lab.ssh(node, "systemctl is-active containerd").stdout.strip() == "active"
    assert lab.ssh(node, "systemctl show -p FragmentPath --value containerd").stdout.strip() == UNIT
    answer = lab.ssh(node, f"{BIN}/ctr --address /run/containerd/containerd.sock version").stdout
    assert re.search(rf"Server:\s+Version:\s+{re.escape(release.containerd)}", answer), answer
    assert "version = 2" in lab.ssh(node, "cat /etc/containerd/config.toml").stdout


def test_a_second_run_changes_nothing(
    lab: RunningLab, node: str, mirror: str, release: Release, installed: object, tmp_path: Path
) -> None:
    again = converge(lab, node, mirror, tmp_path, release.containerd, release.runc)
    assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
    assert changed(again, node) == 0, again.stdout[-4000:]


def test_a_new_release_replaces_the_binaries_and_restarts_containerd_once(
    lab: RunningLab, node: str, mirror: str, release: Release, installed: object, tmp_path: Path
) -> None:
    # The same programs with a byte appended (an ELF file runs with trailing data): a
    # release whose containerd differs, published beside the first.
    newer = release.containerd + "1"
    files = {**release.files, "containerd": release.files["containerd"] + b"\0kubeprimer-test"}
    publish_release(release.root, files, newer, release.runc)
    since = int(time.time())
    done = converge(lab, node, mirror, tmp_path, newer, release.runc)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    want = hashlib.sha256(files["containerd"]).hexdigest()
    assert f"{want}  {BIN}/containerd" in sha256s(lab, node)
    starts = lab.ssh(node, f"journalctl -u containerd -o cat --since @{since}").stdout
    assert len(re.findall(r"^Started containerd", starts, re.M)) == 1, starts
    assert lab.ssh(node, "systemctl is-active containerd").stdout.strip() == "active"
    # The replaced release's tarball and unpacked binaries are gone from the cache.
    cache = lab.ssh(node, "ls /var/cache/kubeprimer/containerd").stdout.split()
    assert cache == [f"containerd-{newer}", f"containerd-{newer}-linux-amd64.tar.gz"]


def test_a_file_that_does_not_match_its_checksum_stops_with_one_sentence(
    lab: RunningLab, node: str, mirror: str, release: Release, installed: object, tmp_path: Path
) -> None:
    corrupt = release.containerd + "2"
    path = publish_release(release.root, release.files, corrupt, release.runc)
    path.write_bytes(path.read_bytes() + b"tampered")
    before = sha256s(lab, node)
    done = converge(lab, node, mirror, tmp_path, corrupt, release.runc)
    output = " ".join(done.stdout.split())
    assert done.returncode != 0
    # Ansible masks the mirror's address where it meets it in the module's hidden proxy
    # settings (proxy_no_proxy above), so the sentence is matched from the port on.
    port = mirror.rsplit(":", 1)[1]
    assert "containerd from http://" in output
    assert (
        f":{port}/containerd/containerd/releases/download/v{corrupt}/"
        f"containerd-{corrupt}-linux-amd64.tar.gz does not match its published checksum"
    ) in output, output[-3000:]
    assert f"fix the files at containerd_mirror_url ({mirror})" in output
    assert sha256s(lab, node) == before
    assert lab.ssh(node, "systemctl is-active containerd").stdout.strip() == "active"
