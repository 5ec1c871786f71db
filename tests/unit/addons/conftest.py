"""Fixtures for the addon framework's tests: sample addons and the Kubernetes API test double."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

# With --import-mode=importlib pytest puts no test folder on sys.path: add tests/ (for the
# shared test doubles, tests/doubles) and this folder (for manifests.py, shared by tests).
sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]

from doubles.fake_kube_api import FakeKubeApi  # noqa: E402 - needs the sys.path entry above

SAMPLES = Path(__file__).parent / "sample" / "addons"


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def fake_api() -> FakeKubeApi:
    return FakeKubeApi()


@pytest.fixture
def kubeconfig(fake_api: FakeKubeApi, tmp_path: Path) -> Iterator[Path]:
    with fake_api.serve(tmp_path) as path:
        yield path


@pytest.fixture
def console() -> Console:
    return Console(file=StringIO(), width=120)
