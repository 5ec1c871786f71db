"""roles/kube_artifacts, etcd, vault and etcd_backup download through a proxy whose URL
carries a password, run by ansible-playbook on this machine against a real HTTP proxy
(a small one in this test): while the proxy holds a request, no process of the machine
has the password in its command line, nor does any command Ansible runs (its -vvv log
shows each one). Ansible puts a task's ``environment`` there (``/bin/sh -c
'https_proxy=... python3'``, and in ssh's own arguments for a remote host), so the
proxy must reach the download module another way."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.integration.roles.localplay import run_plays, run_role

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="installs files owned by root"),
]

SECRET = "Pr0xy%40S3cret"


def _command_lines_holding(secret: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes()
        except OSError:  # gone, or not a process
            continue
        if secret.encode() in argv:
            found.append(argv.replace(b"\0", b" ").decode(errors="replace"))
    return found


@contextmanager
def _proxy() -> Iterator[tuple[str, list[str], list[str]]]:
    """A proxy that answers 404 to everything; while it holds each request it records
    the Proxy-Authorization it was sent and the command lines that carry the password."""
    credentials: list[str] = []
    leaks: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            credentials.append(self.headers.get("Proxy-Authorization", ""))
            leaks.extend(_command_lines_holding(SECRET))
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://build:{SECRET}@127.0.0.1:{server.server_address[1]}", credentials, leaks
    finally:
        server.shutdown()
        server.server_close()


def test_the_proxy_password_stays_out_of_process_lists(tmp_path: Path) -> None:
    with _proxy() as (url, credentials, leaks):
        settings = {
            "kube_version": "1.36.2",
            # Not loopback: the downloads go through the proxy.
            "kube_artifacts_mirror_url": "http://192.0.2.1/k8s",
            "proxy_http": url,
            "proxy_https": url,
            "kube_artifacts_bin_dir": str(tmp_path / "bin"),
            "kube_artifacts_cni_bin_dir": str(tmp_path / "cni"),
            "_kube_artifacts_cache_dir": str(tmp_path / "cache"),
            "kube_artifacts_download_timeout": 5,
        }
        result = run_role(tmp_path, "kube_artifacts", ["preflight", "install"], settings)
    # The mirror is not there: the role stops, after asking through the proxy.
    assert "Could not download kubeadm from http://192.0.2.1/k8s" in result.stdout, result.stdout
    basic = "Basic " + base64.b64encode(b"build:Pr0xy@S3cret").decode()
    assert credentials and set(credentials) == {basic}, credentials
    assert leaks == []


# Each role's install tasks in check mode: nothing on this machine changes, and the
# download module still runs (it reads published checksum lists through the proxy).
# Role internals (vars/main.yml outranks play vars) move in as extra vars.
ROLE_DOWNLOADS: dict[str, tuple[dict[str, Any], dict[str, str], bool]] = {
    "etcd": (
        {"etcd_mirror_url": "http://192.0.2.1/etcd", "etcd_binary_source": "url"},
        {"_etcd_arch": "amd64", "_etcd_cache_dir": "{tmp}/cache", "_etcd_bin_dir": "{tmp}/bin"},
        True,
    ),
    "vault": (
        {"vault_mirror_url": "http://192.0.2.1/vault", "vault_download_timeout": 5},
        {"_vault_arch": "amd64", "_vault_cache_dir": "{tmp}/cache"},
        True,
    ),
    # Its checksum is pinned, so check mode asks nothing of the proxy: the log is the test.
    "etcd_backup": ({}, {"_etcd_backup_tools_dir": "{tmp}/tools"}, False),
}


@pytest.mark.parametrize("role", sorted(ROLE_DOWNLOADS))
def test_role_downloads_keep_the_proxy_password_off_command_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    settings, internals, asks_proxy = ROLE_DOWNLOADS[role]
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    play = {
        "name": role,
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": role, "tasks_from": "install"}}],
    }
    extra = {key: value.format(tmp=tmp_path) for key, value in internals.items()}
    with _proxy() as (url, credentials, leaks):
        proxied = {**settings, "proxy_http": url, "proxy_https": url}
        result = run_plays(tmp_path, [play], proxied, {}, extra_vars=extra, check=True)
    log = result.stdout + result.stderr
    assert "EXEC /bin/sh -c" in log, "the -vvv log shows the commands Ansible runs"
    assert SECRET not in log and SECRET.replace("%40", "@") not in log
    assert leaks == []
    if asks_proxy:
        basic = "Basic " + base64.b64encode(b"build:Pr0xy@S3cret").decode()
        assert credentials and set(credentials) == {basic}, credentials
    assert "checked_download" in log, "the download ran, through the module that hides the proxy"
