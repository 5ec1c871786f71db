"""The cluster's API refusing kubeprimer is one sentence (exit 2), never a traceback:
an http:// address for a server that speaks HTTPS, a token it does not accept (401)
and a user it does not allow (403). Run with the real invoke and kubernetes client
against the Kubernetes API test double over real TLS."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ROOT
from tests.doubles import fake_kube_api
from tests.integration.cluster.tls_api import serve_tls
from tests.unit.addons.test_vaulted_settings import BIN

FORBIDDEN = 'namespaces is forbidden: User "viewer" cannot list resource "namespaces"'


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    folder = tmp_path_factory.mktemp("api")
    with serve_tls(fake_kube_api.FakeKubeApi(), folder) as path:
        yield yaml.safe_load(path.read_text())


def _invoke(tmp_path: Path, config: dict[str, object], *task: str) -> tuple[int, str]:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [str(BIN / "invoke"), *task, "--kubeconfig", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def _changed(config: dict[str, object], server: str = "", token: str = "") -> dict[str, object]:
    copy = json.loads(json.dumps(config))
    if server:
        copy["clusters"][0]["cluster"]["server"] = server
    if token:
        copy["users"][0]["user"]["token"] = token
    return dict(copy)


def test_http_against_an_https_server(kubeconfig: dict[str, object], tmp_path: Path) -> None:
    https = kubeconfig["clusters"][0]["cluster"]["server"]  # type: ignore[index]
    http = str(https).replace("https://", "http://")
    code, out = _invoke(tmp_path, _changed(kubeconfig, server=http), "addons.status")
    assert (code, out.strip()) == (
        2,
        f"error: The API server at {http} speaks HTTPS; write its address as https:// in the "
        "kubeconfig.",
    )


@pytest.mark.parametrize("task", [["addons.status"], ["addons.remove", "ingress"]])
def test_a_token_the_server_does_not_accept(
    kubeconfig: dict[str, object], tmp_path: Path, task: list[str]
) -> None:
    code, out = _invoke(tmp_path, _changed(kubeconfig, token="expired"), *task)
    assert (code, out.strip()) == (
        2,
        "error: The API server does not accept the kubeconfig's credentials (401 Unauthorized); "
        "pass a current admin kubeconfig with --kubeconfig.",
    )


def test_a_user_without_permission(kubeconfig: dict[str, object], tmp_path: Path) -> None:
    """A server that refuses this user everything, as RBAC answers: 403 with a Status."""

    class Forbidden(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                {
                    "kind": "Status",
                    "status": "Failure",
                    "reason": "Forbidden",
                    "code": 403,
                    "message": FORBIDDEN,
                }
            ).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"http://127.0.0.1:{server.server_address[1]}"
        code, out = _invoke(tmp_path, _changed(kubeconfig, server=address), "addons.status")
    finally:
        server.shutdown()
        server.server_close()
    assert (code, out.strip()) == (
        2,
        f"error: The kubeconfig's user may not do this ({FORBIDDEN}); pass an admin kubeconfig "
        "with --kubeconfig.",
    )
