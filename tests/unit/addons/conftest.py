"""Fixtures for the addon framework's tests: sample addons and the Kubernetes API test double."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from doubles.fake_kube_api import FakeKubeApi
from rich.console import Console

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
