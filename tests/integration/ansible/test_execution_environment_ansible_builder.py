"""The real ansible-builder renders execution-environment.yml's build context offline
(no container can be built on the test machines): the requirement files it writes are
the project's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubeprimer.paths import ROOT
from tests.programs import run_program

pytestmark = pytest.mark.integration


def test_ansible_builder_renders_the_build_context(tmp_path: Path) -> None:
    context = tmp_path / "context"
    done = run_program(
        "ansible-builder",
        "create",
        "-f",
        str(ROOT / "execution-environment.yml"),
        "-c",
        str(context),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    build = context / "_build"
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert build.joinpath("requirements.txt").read_text().split() == ee["dependencies"]["python"]
    assert build.joinpath("bindep.txt").read_text() == (ROOT / "bindep.txt").read_text()
    collections = yaml.safe_load(build.joinpath("requirements.yml").read_text())
    assert collections == yaml.safe_load((ROOT / "collections/requirements.yml").read_text())
    containerfile = next(context.glob("*file")).read_text()
    assert "quay.io/centos/centos:stream9" in containerfile
    assert "ansible-core>=2.19,<2.20" in containerfile
