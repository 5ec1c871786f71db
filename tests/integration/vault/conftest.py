"""Fixtures: a real, non-dev OpenBao server (raft storage, TLS from a throwaway CA)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeprimer.vault.connect import Endpoint
from kubeprimer.vault.init import Protection, initialise
from kubeprimer.vault.keys import parse_keys

from .baoserver import DB_PASSWORD, BaoServer, Setup, TestCA, make_ca, new_server


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def bao_server(tmp_path: Path, test_ca: TestCA) -> Iterator[BaoServer]:
    """A fresh, uninitialised, sealed server: the state `invoke vault.init` starts from."""
    yield from new_server(tmp_path / "bao", test_ca)


@pytest.fixture(scope="module")
def module_bao_server(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA
) -> Iterator[BaoServer]:
    """One uninitialised server shared by a module's tests (they initialise it once)."""
    yield from new_server(tmp_path_factory.mktemp("bao") / "server", test_ca)


@pytest.fixture(scope="module")
def setup(
    module_bao_server: BaoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    """An initialised, unsealed server with an admin token: where vault.plan/apply start."""
    folder = tmp_path_factory.mktemp("config")
    out = folder / "keys"
    out.mkdir(mode=0o700)
    ep = Endpoint(module_bao_server.address, module_bao_server.ca.ca_cert)
    initialise([ep], 1, 1, Protection(), out, lambda n: [])
    (folder / "secrets").mkdir()
    (folder / "secrets" / "db-password").write_text(DB_PASSWORD + "\n")
    yield Setup(
        module_bao_server,
        folder,
        out / "admin-token",
        parse_keys((out / "unseal-keys").read_text()),
    )
