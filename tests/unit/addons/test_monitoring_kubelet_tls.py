"""Prometheus verifies the kubelets' serving certificates against the cluster CA: no
addon skips TLS verification, and the kubelet and cAdvisor jobs name the CA file that
Kubernetes mounts into every pod. The scrape configuration is then loaded by the real
promtool (Debian's prometheus package)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from manifests import Case, cases, objects

from kubeprimer.paths import ROOT

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SKIP_VERIFY = re.compile(r"insecure_?skip_?verify|kubelet-insecure-tls", re.IGNORECASE)


def prometheus_config() -> dict[str, Any]:
    case = Case("monitoring", "defaults", {"addons_monitoring_grafana_admin_password": "x"})
    config_map = next(o for o in objects(case) if o["metadata"]["name"] == "prometheus-config")
    loaded: dict[str, Any] = yaml.safe_load(config_map["data"]["prometheus.yml"])
    return loaded


def test_no_addon_file_skips_tls_verification() -> None:
    found = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "addons").rglob("*")
        if path.is_file() and SKIP_VERIFY.search(path.read_text(errors="replace"))
    ]
    assert found == []


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.id)
def test_no_rendered_addon_skips_tls_verification(case: Case) -> None:
    assert not SKIP_VERIFY.search(yaml.safe_dump_all(objects(case)))


@pytest.mark.parametrize("job", ["kubelet", "cadvisor"])
def test_kubelet_jobs_verify_against_the_cluster_ca(job: str) -> None:
    scrape = next(s for s in prometheus_config()["scrape_configs"] if s["job_name"] == job)
    assert scrape["scheme"] == "https"
    assert scrape["tls_config"] == {"ca_file": f"{SA_DIR}/ca.crt"}
    assert scrape["authorization"] == {"credentials_file": f"{SA_DIR}/token"}


@pytest.mark.skipif(
    not shutil.which("promtool"), reason="promtool (Debian package prometheus) is not installed"
)
def test_promtool_loads_the_scrape_configuration(tmp_path: Path) -> None:
    # Debian's Prometheus has no Kubernetes service discovery, and promtool wants the
    # files it names to exist: give the jobs fixed targets and the pod's files here.
    (tmp_path / "ca.crt").write_text("placeholder: promtool checks that the file exists\n")
    (tmp_path / "token").write_text("placeholder\n")
    config = prometheus_config()
    config.pop("rule_files")
    for scrape in config["scrape_configs"]:
        if scrape.pop("kubernetes_sd_configs", None) is not None:
            scrape["static_configs"] = [{"targets": ["node.example:10250"]}]
    text = yaml.safe_dump(config).replace(SA_DIR, str(tmp_path))
    (tmp_path / "prometheus.yml").write_text(text)
    done = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
