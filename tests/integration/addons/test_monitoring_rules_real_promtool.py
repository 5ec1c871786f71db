"""The monitoring addon's alert rules and Alertmanager configuration, checked by the real
promtool and amtool (Debian's prometheus and prometheus-alertmanager packages).

promtool's rule unit tests feed synthetic series and assert which alerts fire when: node
down, disk filling, certificate expiring, etcd backup stale or missing. (Debian builds
Prometheus without Kubernetes service discovery, so prometheus.yml itself is not checked
here; its scrape configs use only fields of the upstream schema.)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from manifests import Case, objects

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not shutil.which("promtool"), reason="promtool (Debian package prometheus) is not installed"
    ),
]

SETTINGS = {
    "addons_monitoring_grafana_admin_password": "x",
    "addons_monitoring_alert_webhook_url": "https://alerts.example.org/hook",
    "addons_monitoring_etcd_backup_max_age_hours": 26,
}


def rendered() -> dict[str, Any]:
    return {o["metadata"]["name"]: o for o in objects(Case("monitoring", "promtool", SETTINGS))}


def alert(name: str, severity: str, summary: str, **labels: str) -> dict[str, Any]:
    return {
        "exp_labels": {"alertname": name, "severity": severity, **labels},
        "exp_annotations": {"summary": summary},
    }


RULE_TESTS = [
    {
        "interval": "1m",
        "input_series": [
            {"series": 'up{job="node-exporter",node="n1"}', "values": "1 1 0+0x10"},
            {"series": 'up{job="node-exporter",node="n2"}', "values": "1x12"},
            {
                "series": 'kubeprimer_etcd_backup_last_success_timestamp_seconds{node="n1"}',
                "values": "0+0x12",
            },
        ],
        "alert_rule_test": [
            {"eval_time": "4m", "alertname": "NodeDown", "exp_alerts": []},
            {
                "eval_time": "8m",
                "alertname": "NodeDown",
                "exp_alerts": [
                    alert(
                        "NodeDown",
                        "critical",
                        "node-exporter on n1 has not answered for 5 minutes: the node is down or unreachable.",
                        job="node-exporter",
                        node="n1",
                    )
                ],
            },
        ],
    },
    {
        "interval": "1m",
        "input_series": [
            {
                "series": 'node_filesystem_avail_bytes{fstype="ext4",mountpoint="/",node="n1"}',
                "values": "5x30",
            },
            {
                "series": 'node_filesystem_size_bytes{fstype="ext4",mountpoint="/",node="n1"}',
                "values": "100x30",
            },
            {
                "series": 'node_filesystem_readonly{fstype="ext4",mountpoint="/",node="n1"}',
                "values": "0+0x30",
            },
            {
                "series": 'kubelet_certificate_manager_client_ttl_seconds{node="n1"}',
                "values": "259200x30",
            },
            {
                "series": 'kubelet_certificate_manager_server_ttl_seconds{node="n1"}',
                "values": "8640000x30",
            },
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": "NodeDiskFilling", "exp_alerts": []},
            {
                "eval_time": "20m",
                "alertname": "NodeDiskFilling",
                "exp_alerts": [
                    alert(
                        "NodeDiskFilling",
                        "warning",
                        "/ on n1 has 5.0% free.",
                        fstype="ext4",
                        mountpoint="/",
                        node="n1",
                    )
                ],
            },
            {
                "eval_time": "1m",
                "alertname": "KubeletClientCertificateExpiring",
                "exp_alerts": [
                    alert(
                        "KubeletClientCertificateExpiring",
                        "warning",
                        "The kubelet client certificate on n1 expires in 3d 0h 0m 0s.",
                        node="n1",
                    )
                ],
            },
            {"eval_time": "1m", "alertname": "KubeletServerCertificateExpiring", "exp_alerts": []},
        ],
    },
    {
        # One backup at t=0 and none after: stale once it is 26 h old (and 10 m pending).
        # Samples closer than Prometheus' 5 m lookback, as a scrape every 30 s gives.
        "interval": "4m",
        "input_series": [
            {
                "series": 'kubeprimer_etcd_backup_last_success_timestamp_seconds{node="m1"}',
                "values": "0+0x500",
            },
        ],
        "alert_rule_test": [
            {"eval_time": "25h", "alertname": "EtcdBackupStale", "exp_alerts": []},
            {
                "eval_time": "27h",
                "alertname": "EtcdBackupStale",
                "exp_alerts": [
                    alert(
                        "EtcdBackupStale",
                        "critical",
                        "The newest successful etcd backup is 1d 3h 0m 0s old.",
                    )
                ],
            },
            {"eval_time": "27h", "alertname": "EtcdBackupMissing", "exp_alerts": []},
        ],
    },
    {
        # A check passes at t=0 and fails at 28m; the drill passes at t=0, then never again.
        # Samples closer than the 5 m lookback, as in the stale-backup case above.
        "interval": "4m",
        "input_series": [
            {
                "series": 'kubeprimer_etcd_backup_last_check_success{host="m1",node="m1"}',
                "values": "1 1 1 1 1 1 1 0x3000",
            },
            {
                "series": 'kubeprimer_etcd_backup_last_check_success_timestamp_seconds{host="m1"}',
                "values": "0x3000",
            },
            {
                "series": 'kubeprimer_etcd_backup_last_drill_success{host="m1"}',
                "values": "1x3000",
            },
            {
                "series": 'kubeprimer_etcd_backup_last_drill_success_timestamp_seconds{host="m1"}',
                "values": "0x3000",
            },
        ],
        "alert_rule_test": [
            {"eval_time": "20m", "alertname": "EtcdBackupCheckFailed", "exp_alerts": []},
            {
                "eval_time": "50m",
                "alertname": "EtcdBackupCheckFailed",
                "exp_alerts": [
                    alert(
                        "EtcdBackupCheckFailed",
                        "critical",
                        "The etcd backup repository check on m1 failed; repair it "
                        "(docs/etcd-backup.md).",
                        host="m1",
                    )
                ],
            },
            {"eval_time": "50m", "alertname": "EtcdBackupDrillFailed", "exp_alerts": []},
            {"eval_time": "47h", "alertname": "EtcdBackupCheckStale", "exp_alerts": []},
            {
                "eval_time": "50h",
                "alertname": "EtcdBackupCheckStale",
                "exp_alerts": [
                    alert(
                        "EtcdBackupCheckStale",
                        "warning",
                        "No check of the etcd backup repository has passed for 2d 2h 0m 0s.",
                    )
                ],
            },
            {"eval_time": "7d", "alertname": "EtcdBackupDrillStale", "exp_alerts": []},
            {
                "eval_time": "8d2h",
                "alertname": "EtcdBackupDrillStale",
                "exp_alerts": [
                    alert(
                        "EtcdBackupDrillStale",
                        "warning",
                        "No etcd restore drill has passed for 8d 2h 0m 0s.",
                    )
                ],
            },
        ],
    },
    {
        # Backups succeed, but no check or drill has ever passed (their timer never ran).
        # Samples closer than the 5 m lookback, as above.
        "interval": "4m",
        "input_series": [
            {
                "series": 'kubeprimer_etcd_backup_last_success_timestamp_seconds{host="m1"}',
                "values": "0+240x3000",
            },
        ],
        "alert_rule_test": [
            {"eval_time": "47h", "alertname": "EtcdBackupCheckMissing", "exp_alerts": []},
            {
                "eval_time": "49h",
                "alertname": "EtcdBackupCheckMissing",
                "exp_alerts": [
                    alert(
                        "EtcdBackupCheckMissing",
                        "warning",
                        "Backups are taken, but no check of the etcd backup repository has "
                        "ever passed.",
                    )
                ],
            },
            {"eval_time": "7d", "alertname": "EtcdBackupDrillMissing", "exp_alerts": []},
            {
                "eval_time": "8d1h",
                "alertname": "EtcdBackupDrillMissing",
                "exp_alerts": [
                    alert(
                        "EtcdBackupDrillMissing",
                        "warning",
                        "Backups are taken, but no etcd restore drill has ever passed.",
                    )
                ],
            },
        ],
    },
    {
        "interval": "10m",
        "input_series": [{"series": 'up{job="prometheus"}', "values": "1x10"}],
        "alert_rule_test": [
            {"eval_time": "30m", "alertname": "EtcdBackupMissing", "exp_alerts": []},
            {
                "eval_time": "80m",
                "alertname": "EtcdBackupMissing",
                "exp_alerts": [
                    alert(
                        "EtcdBackupMissing",
                        "warning",
                        "No etcd backup has reported success "
                        "(kubeprimer_etcd_backup_last_success_timestamp_seconds is absent).",
                    )
                ],
            },
        ],
    },
]


def run(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_rules_parse_and_fire_when_they_should(tmp_path: Path) -> None:
    rules = rendered()["prometheus-rules"]["data"]["kubeprimer.yml"]
    (tmp_path / "rules.yml").write_text(rules)
    count = sum(len(group["rules"]) for group in yaml.safe_load(rules)["groups"])
    assert f"SUCCESS: {count} rules found" in run(
        "promtool", "check", "rules", "rules.yml", cwd=tmp_path
    )
    tests = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": RULE_TESTS}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    assert "SUCCESS" in run("promtool", "test", "rules", "tests.yml", cwd=tmp_path)


@pytest.mark.skipif(
    not shutil.which("amtool"),
    reason="amtool (Debian package prometheus-alertmanager) is not installed",
)
def test_alertmanager_configuration_is_accepted_by_amtool(tmp_path: Path) -> None:
    (tmp_path / "am.yml").write_text(rendered()["alertmanager-config"]["data"]["alertmanager.yml"])
    out = run("amtool", "check-config", "am.yml", cwd=tmp_path)
    assert "SUCCESS" in out and "2 receivers" in out
