"""Inventory values that reach commands on the hosts are refused before any host is
touched: a kernel module name carrying a shell command ends the task with status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from kubeprimer.inventory import load, problems
from kubeprimer.paths import ROOT

CRAFTED = "br_netfilter; touch /tmp/pwned"
HOSTS = {
    "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "192.0.2.11"}}},
    "kube_node": {"hosts": {"w1": {"ansible_host": "192.0.2.21"}}},
    "etcd": {"hosts": {"cp1": None}},
}


def inventory(
    tmp_path: Path, settings: dict[str, object], w1: dict[str, object] | None = None
) -> Path:
    groups = yaml.safe_load(yaml.safe_dump(HOSTS))
    groups["kube_node"]["hosts"]["w1"].update(w1 or {})
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": groups}}))
    return tmp_path / "hosts.yml"


def test_kernel_module_names_carrying_commands_are_refused(tmp_path: Path) -> None:
    found = problems(load(inventory(tmp_path, {"node_prep_kernel_modules": ["overlay", CRAFTED]})))
    assert found == [
        "node_prep_kernel_modules lists 'br_netfilter; touch /tmp/pwned' on cp1, w1; "
        "give kernel module names made of letters, digits, _ and - only, such as br_netfilter."
    ]


def test_a_host_override_is_checked_too(tmp_path: Path) -> None:
    path = inventory(tmp_path, {}, w1={"node_prep_kernel_modules": "overlay br_netfilter"})
    assert problems(load(path)) == [
        "node_prep_kernel_modules of w1 is not a list; give a list of kernel module names, such as [overlay, br_netfilter]."
    ]


def test_plain_module_names_pass(tmp_path: Path) -> None:
    path = inventory(
        tmp_path, {"node_prep_kernel_modules": ["overlay", "br_netfilter", "ip_vs-rr"]}
    )
    assert problems(load(path)) == []


def test_cluster_plan_stops_with_status_2_before_any_connection(tmp_path: Path) -> None:
    # 192.0.2.0/24 is TEST-NET: a connection attempt would hang or fail, never succeed.
    path = inventory(tmp_path, {"node_prep_kernel_modules": [CRAFTED]})
    done = subprocess.run(
        [str(Path(sys.executable).with_name("invoke")), "cluster.plan", "-i", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: node_prep_kernel_modules lists 'br_netfilter; touch /tmp/pwned' on cp1, w1; "
        "give kernel module names made of letters, digits, _ and - only, such as br_netfilter."
    ]
    assert not (tmp_path / "artifacts").exists()


def test_no_proxy_entries_that_would_add_lines_to_service_environments_are_refused(
    tmp_path: Path,
) -> None:
    settings = {
        "proxy_no_proxy": ["10.0.0.0/8", ".example.org", "10.0.0.0/8\nLD_PRELOAD=/tmp/x.so"]
    }
    assert problems(load(inventory(tmp_path, settings))) == [
        "proxy_no_proxy lists '10.0.0.0/8\\nLD_PRELOAD=/tmp/x.so' on cp1, w1; give host names, domains, "
        "addresses or CIDRs only, without spaces, quotes or commas."
    ]


def test_a_module_name_with_a_trailing_line_break_is_refused(tmp_path: Path) -> None:
    path = inventory(tmp_path, {"node_prep_kernel_modules": ["overlay\n"]})
    assert len(problems(load(path))) == 1


def test_proxy_urls_that_would_add_settings_on_the_hosts_are_refused(tmp_path: Path) -> None:
    crafted = {
        "proxy_http": "http://10.0.0.1:3128\nExecStartPre=/bin/id",
        "proxy_https": 'http://h:3128"; APT::Update::Pre-Invoke {"touch /tmp/x"}; "',
    }
    found = problems(load(inventory(tmp_path, crafted)))
    assert len(found) == 2, found
    assert all("percent-encode it" in f for f in found)
    fine = {
        "proxy_http": "http://build:p%3Bss@10.0.0.1:3128",
        "proxy_https": "http://[fd00::1]:3128/",
    }
    (tmp_path / "fine").mkdir()
    assert problems(load(inventory(tmp_path / "fine", fine))) == []
