"""kubeprimer.cluster built and installed offline with the real ansible-galaxy, then
read and checked by the real ansible-doc, ansible-playbook, ansible-test and
ansible-lint from a folder outside the repository (the lab run of its cluster playbook
is in tests/integration/cluster/test_cluster_up_lab_nodes.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from kubeprimer.paths import ROLES, ROOT
from tests.integration.ansible.collection import Installed, build_and_install
from tests.programs import BINDIR

pytestmark = pytest.mark.integration

ROLE_NAMES = sorted(p.parent.parent.name for p in ROLES.glob("*/meta/argument_specs.yml"))
PLAYBOOKS = tuple(sorted(p.stem for p in (ROOT / "playbooks").glob("*.yml")))
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return build_and_install(tmp_path_factory.mktemp("collection"))


def test_the_artifact_holds_the_content_and_nothing_git_ignores(installed: Installed) -> None:
    (tarball,) = (installed.folder / "dist").glob("kubeprimer-cluster-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "meta/runtime.yml" in names and "CHANGELOG.md" in names
    assert "plugins/modules/checked_download.py" in names
    assert all(not n.startswith(("kubeprimer/", "inventories/")) for n in names)
    assert {n for n in names if n.startswith("tests/")} == {
        "tests/sanity",
        "tests/sanity/ignore-2.19.txt",
    }
    assert not [n for n in names if "/molecule/" in n or "/.pki" in n or n.endswith(".key")]
    # The backup agent is a link to the Python package in the checkout; the role ships copies.
    agent = {n.rsplit("/", 1)[-1] for n in names if "roles/etcd_backup/files/etcd_agent/" in n}
    assert agent == {p.name for p in (ROOT / "kubeprimer/etcd/agent").glob("*.py")}


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_ansible_doc_documents_every_role_from_the_installed_collection(
    installed: Installed, role: str
) -> None:
    done = installed.run("ansible-doc", "-t", "role", f"kubeprimer.cluster.{role}")
    assert done.returncode == 0, done.stderr
    assert f"kubeprimer.cluster.{role}" in done.stdout
    assert str(installed.path) in done.stdout  # not the checkout's copy


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbooks_load_by_name_with_only_the_collection(
    installed: Installed, playbook: str
) -> None:
    inventory = Path(ROOT / "inventories" / "sample" / "hosts.yml")
    done = installed.run(
        "ansible-playbook", "--syntax-check", "-i", str(inventory), f"kubeprimer.cluster.{playbook}"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{installed.path}/playbooks/{playbook}.yml" in done.stdout


# ansible-test's sanity tests that need nothing from the network (the others install
# their own tools into virtual environments with pip, from the internet).
OFFLINE_SANITY = (
    "action-plugin-docs",
    "changelog",
    "compile",
    "empty-init",
    "ignores",
    "line-endings",
    "no-assert",
    "no-get-exception",
    "no-illegal-filenames",
    "no-smart-quotes",
    "replace-urlopen",
    "shebang",
    "symlinks",
    "use-argspec-type-path",
    "use-compat-six",
)


def test_ansible_test_sanity_passes_its_offline_tests(installed: Installed) -> None:
    tests = [arg for name in OFFLINE_SANITY for arg in ("--test", name)]
    done = subprocess.run(
        [str(BINDIR / "ansible-test"), "sanity", "--python", PYTHON, *tests],
        cwd=installed.path,
        env=installed.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("Running sanity test") == len(OFFLINE_SANITY), done.stdout


def test_ansible_lint_production_profile_passes_on_the_installed_collection(
    installed: Installed,
) -> None:
    # Without the checkout's .ansible-lint: the installed files, the production profile and
    # nothing skipped. ansible-lint keeps its cache in the folder it lints; it goes after.
    try:
        done = subprocess.run(
            [str(BINDIR / "ansible-lint"), "--profile", "production", "--offline", "--nocolor"],
            cwd=installed.path,
            env=installed.env(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=1200,
            check=False,
        )
    finally:
        shutil.rmtree(installed.path / ".ansible", ignore_errors=True)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    passed = re.search(r"Passed: 0 failure\(s\), 0 warning\(s\) in (\d+) files processed", output)
    assert passed, output
    # Every playbook and role was linted, not an empty folder.
    assert int(passed.group(1)) > len(PLAYBOOKS) + len(ROLE_NAMES), output
