"""Kubelets serve certificates signed by the cluster CA (CIS 4.2.x: serverTLSBootstrap,
rotateCertificates) and the API server verifies them (CIS 1.2.5:
--kubelet-certificate-authority), in the configuration the kubeadm role renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.roles.localplay import run_role
from tests.unit.cluster.conftest import by_kind
from tests.unit.cluster.test_kubeadm_config import args

CLUSTER_CA = "/etc/kubernetes/pki/ca.crt"


@pytest.mark.parametrize("scenario", ["single", "ha"])
def test_kubelets_request_serving_certificates_from_the_cluster_ca(
    rendered: dict[str, Path], scenario: str
) -> None:
    kc = by_kind(rendered[scenario] / "cp1" / "init.yaml")["KubeletConfiguration"]
    assert kc["serverTLSBootstrap"] is True
    assert kc["rotateCertificates"] is True
    # The kubelet verifies its clients with the same CA (kubeadm's client CA).
    assert kc["authentication"]["x509"] == {"clientCAFile": CLUSTER_CA}


@pytest.mark.parametrize("scenario", ["single", "ha"])
def test_api_server_verifies_kubelets_against_the_cluster_ca(
    rendered: dict[str, Path], scenario: str
) -> None:
    cc = by_kind(rendered[scenario] / "cp1" / "init.yaml")["ClusterConfiguration"]
    flags = args(cc["apiServer"]["extraArgs"])
    assert flags["kubelet-certificate-authority"] == CLUSTER_CA


@pytest.mark.parametrize("field", ["serverTLSBootstrap", "rotateCertificates"])
def test_preflight_refuses_to_switch_serving_certificates_off(tmp_path: Path, field: str) -> None:
    done = run_role(tmp_path, "kubeadm", ["preflight"], {"kubelet_extra_config": {field: False}})
    assert done.returncode != 0
    assert (
        "kubelet_extra_config sets serverTLSBootstrap or rotateCertificates to false" in done.stdout
    )
