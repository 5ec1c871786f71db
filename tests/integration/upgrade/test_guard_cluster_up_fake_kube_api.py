"""`invoke cluster.up` on a cluster that runs, read from the Kubernetes API TEST DOUBLE:
an inventory that raises kube_version, containerd or the pod network's release ends with
exit 2 and one sentence per component before any host is touched.

The hosts sit on TEST-NET addresses nothing answers on; no play ran is proven by what
every run leaves behind: no playbook log folder and no host key recorded (the host key
check opens the first connection of every playbook run).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.programs import run_program
from tests.unit.upgrade.cluster_state import (
    CONTAINERD,
    FLANNEL,
    KUBE,
    VersionedApi,
    flannel,
    inventory,
    node,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def admin_conf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running cluster at Kubernetes 1.36.4 with the pinned containerd and flannel."""
    api = VersionedApi(release="v1.36.4")
    for name in ("cp1", "w1"):
        node(api, name, "1.36.4", CONTAINERD)
    flannel(api)
    with api.serve(tmp_path_factory.mktemp("api")) as kubeconfig:
        yield kubeconfig


def cluster_up(folder: Path, admin_conf: Path, **settings: object) -> tuple[int, str, Path]:
    inv = inventory(folder, {"kube_version": "1.36.4", **settings})
    (folder / "artifacts").mkdir()
    shutil.copy(admin_conf, folder / "artifacts" / "admin.conf")
    runs = folder / "runs"
    done = run_program(
        "invoke",
        "cluster.up",
        "-i",
        str(inv.path),
        env={"INVOKE_KUBEPRIMER_RUNS_DIR": str(runs), "COLUMNS": "300"},
    )
    return done.returncode, done.stdout + done.stderr, runs


def assert_no_host_touched(folder: Path, runs: Path) -> None:
    assert not (folder / "known_hosts").exists()
    # Every playbook run keeps a log folder named <time>-<playbook>.
    assert not runs.exists() or not list(runs.glob("*-cluster"))


def test_a_raised_kube_version_stops_cluster_up_before_any_host(
    tmp_path: Path, admin_conf: Path
) -> None:
    code, output, runs = cluster_up(tmp_path, admin_conf, kube_version=KUBE)
    assert code == 2, output
    assert (
        f"Kubernetes runs v1.36.4 but the inventory asks for {KUBE} (kube_version); cluster.up "
        "does not upgrade a running cluster: run invoke cluster.upgrade" in " ".join(output.split())
    )
    assert "Traceback" not in output
    assert_no_host_touched(tmp_path, runs)


def test_containerd_and_the_cni_raised_are_both_named(tmp_path: Path, admin_conf: Path) -> None:
    code, output, runs = cluster_up(
        tmp_path, admin_conf, containerd_version="2.4.0", cni_flannel_version="v0.29.0"
    )
    assert code == 2, output
    flat = " ".join(output.split())
    assert f"containerd on cp1, w1 runs {CONTAINERD} but the inventory asks for 2.4.0" in flat
    assert f"flannel runs {FLANNEL} but the inventory asks for v0.29.0" in flat
    assert flat.count("invoke cluster.upgrade") == 2
    assert_no_host_touched(tmp_path, runs)
