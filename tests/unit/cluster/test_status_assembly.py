"""cluster.status's view from recorded answers: what the host probe
(kubeprimer/cluster/status_probe.py) prints on each host and what the API round reads,
for a healthy cluster, the API server down, a host gone, stacked and external etcd,
the virtual IP on no host or two, and stale or failed backups. The SSH round and the
API server over the network are tested in tests/integration/cluster/test_status_*."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeprimer.addons.status import AddonStatus
from kubeprimer.cluster import certs, status_backup, status_hosts
from kubeprimer.cluster import status as view
from kubeprimer.cluster.status_api import Api, Pod
from kubeprimer.inventory import load
from kubeprimer.preflight.remote import Gathered
from kubeprimer.upgrade.running import Cni, Node
from tests.unit.cluster.test_certs_listing import NOW, issue

CONTROL_PLANES = ("cp1", "cp2", "cp3")
APISERVER_CERT = "/etc/kubernetes/pki/apiserver.crt"
HOUR = 3600.0


def inventory(tmp_path: Path, mode: str = "stacked", **settings: Any) -> Path:
    groups: dict[str, Any] = {
        "kube_control_plane": {"hosts": dict.fromkeys(CONTROL_PLANES)},
        "kube_node": {"hosts": {"w1": None}},
    }
    hosts = {h: {"ansible_host": f"10.0.0.{i + 11}"} for i, h in enumerate((*CONTROL_PLANES, "w1"))}
    if mode == "external":
        groups["etcd"] = {"hosts": {"e1": None, "e2": None, "e3": None}}
        hosts.update(
            {e: {"ansible_host": f"10.0.0.{i + 21}"} for i, e in enumerate(("e1", "e2", "e3"))}
        )
    body = {
        "all": {
            "hosts": hosts,
            "vars": {"kube_api_endpoint": "10.0.0.10:8443", "etcd_mode": mode, **settings},
            "children": groups,
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(body))
    return path


def member_answer(member_id: str, leader: str, healthy: bool = True) -> dict[str, Any]:
    """etcd's own JSON gateway answers, as the probe records them."""
    return {
        "status": {
            "header": {
                "cluster_id": "1",
                "member_id": member_id,
                "revision": "4211",
                "raft_term": "3",
            },
            "version": "3.5.16",
            "dbSize": "3145728",
            "leader": leader,
            "raftIndex": "5000",
        },
        "health": {
            "health": "true" if healthy else "false",
            "reason": "" if healthy else "RAFT NO LEADER",
        },
        "error": "",
    }


BACKUP = {
    "configured": True,
    "metrics": {
        "last_success_timestamp_seconds": NOW.timestamp() - 0.5 * HOUR,
        "last_attempt_timestamp_seconds": NOW.timestamp() - 0.5 * HOUR,
        "last_success": 1.0,
    },
    "check": {"ok": True, "at": NOW.timestamp() - 5 * HOUR, "error": None},
    "drill": {"ok": True, "at": NOW.timestamp() - 2 * 86400, "error": None},
}


def answers(etcd_hosts: tuple[str, ...] = CONTROL_PLANES) -> dict[str, dict[str, Any]]:
    """A healthy cluster's probe answers: the leader is the first etcd host, cp1 holds the VIP."""
    ids = {h: str(1000 + i) for i, h in enumerate(etcd_hosts)}
    facts: dict[str, dict[str, Any]] = {}
    for host in (*CONTROL_PLANES, "w1", *etcd_hosts):
        facts[host] = {
            "certificates": {APISERVER_CERT: [issue("kube-apiserver", 300)]}
            if host in CONTROL_PLANES
            else {},
            "errors": {},
            "etcd": member_answer(ids[host], ids[etcd_hosts[0]]) if host in ids else None,
            "vip": host == "cp1",
            "backup": copy.deepcopy(BACKUP) if host in ids else {"configured": False},
        }
    return facts


def healthy_api(external: bool = False) -> Api:
    components = view.COMPONENTS[:-1] if external else view.COMPONENTS
    return Api(
        version="v1.34.2",
        nodes={n: Node("v1.34.2", "2.1.4", True) for n in (*CONTROL_PLANES, "w1")},
        cni=Cni("flannel", "v0.26.7"),
        pods=[Pod(n, c, "Running", True) for n in CONTROL_PLANES for c in components],
        addons=[AddonStatus("metrics-server", "0.7.2", 5, 1, 1, (), "0.7.2")],
    )


def assembled(
    path: Path, facts: dict[str, dict[str, Any]], api: Api, errors: dict[str, str] | None = None
) -> view.Status:
    inv = load(path)
    gathered = Gathered(facts=facts, errors=errors or {}, unreachable=set(errors or {}))
    hosts = status_hosts.assemble(inv, gathered)
    rows = certs.collect(inv, gathered.facts, gathered.errors, NOW, view.WARN_DAYS)
    return view.Status(inv, api, hosts, status_backup.judge(inv, hosts.backups), rows)


def test_a_healthy_stacked_cluster_has_no_problem_and_every_part_is_shown(tmp_path: Path) -> None:
    result = assembled(inventory(tmp_path), answers(), healthy_api())
    assert view.problems(result, NOW) == []
    data = view.data(result, NOW)
    assert data["healthy"] is True
    assert data["etcd"]["mode"] == "stacked"
    assert data["etcd"]["leader"] == "cp1"
    assert [m["db_size"] for m in data["etcd"]["members"]] == [3145728] * 3
    assert data["vip"]["holders"] == ["cp1"]
    assert data["backups"]["backup_age_seconds"] == 1800
    assert data["backups"]["drill"]["ok"] is True
    assert data["nearest_certificate"]["days_left"] == 300
    assert data["control_plane"]["cp2"]["etcd"] == "ready"
    assert data["addons"][0]["rolled_out"] is True
    titles = [t.title for t in view.listings(result, NOW)]
    assert titles[:2] == ["Cluster", "Nodes"]


def test_the_api_server_down_leaves_what_ssh_reads_and_says_why(tmp_path: Path) -> None:
    api = Api(error="The API server at https://10.0.0.10:8443 cannot be reached (refused)")
    result = assembled(inventory(tmp_path), answers(), api)
    problems = view.problems(result, NOW)
    assert problems == [f"API unreachable: {api.error}."]
    data = view.data(result, NOW)
    assert data["api"] == {"reachable": False, "version": None, "error": api.error}
    assert {n["ready"] for n in data["nodes"]} == {None}
    assert data["control_plane"]["cp1"]["kube-apiserver"] == "unknown"
    # etcd, the VIP, the backups and the certificates come over SSH: still known.
    assert data["etcd"]["leader"] == "cp1"
    assert data["vip"]["holders"] == ["cp1"]
    assert data["nearest_certificate"] is not None


def test_a_host_that_does_not_answer_is_marked_and_the_others_still_show(tmp_path: Path) -> None:
    facts = answers()
    del facts["cp3"]
    api = healthy_api()
    api.nodes["cp3"] = Node("v1.34.2", "2.1.4", False)
    result = assembled(inventory(tmp_path), facts, api, {"cp3": "unreachable over SSH (timeout)"})
    assert result.unreachable == ["cp3"]
    problems = view.problems(result, NOW)
    assert "Node cp3 is NotReady." in problems
    # The member that cannot be asked is unreachable, not called unhealthy.
    assert not [p for p in problems if p.startswith("etcd on cp3")]
    data = view.data(result, NOW)
    members = {m["host"]: m for m in data["etcd"]["members"]}
    assert members["cp3"]["reachable"] is False and members["cp3"]["healthy"] is None
    assert members["cp1"]["healthy"] is True and data["etcd"]["leader"] == "cp1"
    assert data["unreachable"] == {"cp3": "unreachable over SSH (timeout)"}
    assert data["healthy"] is False


def test_external_etcd_is_read_on_the_etcd_hosts_with_the_member_certificate(
    tmp_path: Path,
) -> None:
    path = inventory(tmp_path, "external")
    inv = load(path)
    assert status_hosts.etcd_members(inv) == ["e1", "e2", "e3"]
    assert status_hosts.etcd_client(inv)["cert"] == "/etc/etcd/pki/etcd-member.crt"
    facts = answers(("e1", "e2", "e3"))
    facts["e2"]["etcd"] = member_answer("1001", "1000", healthy=False)
    result = assembled(path, facts, healthy_api(external=True))
    assert result.components() == ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
    assert view.problems(result, NOW) == ["etcd on e2 is unhealthy (RAFT NO LEADER)."]
    assert view.data(result, NOW)["etcd"]["leader"] == "e1"


def test_stacked_etcd_is_read_with_kubeadm_healthcheck_client(tmp_path: Path) -> None:
    inv = load(inventory(tmp_path))
    assert status_hosts.etcd_members(inv) == list(CONTROL_PLANES)
    assert status_hosts.etcd_client(inv)["cert"].endswith("etcd/healthcheck-client.crt")


@pytest.mark.parametrize(
    ("holders", "expected"),
    [
        ((), "No host holds the API endpoint's virtual IP 10.0.0.10: check keepalived."),
        (
            ("cp1", "cp2"),
            "2 hosts hold the virtual IP 10.0.0.10 (cp1, cp2): keepalived's peers do not see each other.",
        ),
    ],
)
def test_the_virtual_ip_on_no_host_or_two_is_a_fault(
    tmp_path: Path, holders: tuple[str, ...], expected: str
) -> None:
    facts = answers()
    for host in facts:
        facts[host]["vip"] = host in holders
    result = assembled(inventory(tmp_path), facts, healthy_api())
    assert view.problems(result, NOW) == [expected]
    assert "fault" in view.vip_text(result)[0]


def test_one_control_plane_uses_no_virtual_ip(tmp_path: Path) -> None:
    path = tmp_path / "one.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {"cp1": {"ansible_host": "10.0.0.11"}},
                    "children": {"kube_control_plane": {"hosts": {"cp1": None}}},
                }
            }
        )
    )
    assert status_hosts.vip(load(path)) is None


def test_a_backup_older_than_its_schedule_and_a_failed_drill_are_problems(tmp_path: Path) -> None:
    facts = answers()
    for host in CONTROL_PLANES:
        facts[host]["backup"]["metrics"]["last_success_timestamp_seconds"] = (
            NOW.timestamp() - 3 * HOUR
        )
    facts["cp2"]["backup"]["drill"] = {
        "ok": False,
        "at": NOW.timestamp() - HOUR,
        "error": "hash mismatch",
    }
    result = assembled(inventory(tmp_path), facts, healthy_api())
    problems = view.problems(result, NOW)
    assert problems[0].startswith("etcd backups run hourly but the last is 3h old")
    assert problems[1] == "The last restore drill failed: hash mismatch."
    # A daily schedule allows the same backup.
    daily = assembled(inventory(tmp_path, etcd_backup_on_calendar="daily"), facts, healthy_api())
    assert view.problems(daily, NOW) == ["The last restore drill failed: hash mismatch."]


def test_backups_not_set_up_are_said_and_not_a_fault(tmp_path: Path) -> None:
    facts = answers()
    for host in facts:
        facts[host]["backup"] = {"configured": False}
    result = assembled(inventory(tmp_path), facts, healthy_api())
    assert view.problems(result, NOW) == []
    assert view.backup_text(result, NOW.timestamp())[0].startswith("not set up")


def test_a_certificate_within_30_days_and_a_node_not_registered_are_problems(
    tmp_path: Path,
) -> None:
    facts = answers()
    facts["cp2"]["certificates"][APISERVER_CERT] = [issue("kube-apiserver", 12)]
    api = healthy_api()
    del api.nodes["w1"]
    result = assembled(inventory(tmp_path), facts, api)
    assert view.problems(result, NOW) == [
        "Node w1 is in the inventory but not registered with the API server.",
        "Certificate apiserver on cp2 expires in 12 days: renew it with invoke cluster.certs --renew.",
    ]
    assert result.nearest_certificate() is not None
    assert view.data(result, NOW)["nearest_certificate"]["host"] == "cp2"


def test_calendar_periods_come_from_systemd_when_not_a_shorthand() -> None:
    assert status_backup.period("hourly") == 3600
    assert status_backup.period("") is None
    if subprocess.run(["which", "systemd-analyze"], capture_output=True).returncode == 0:
        assert status_backup.period("*-*-* 00/6:00:00") == 6 * 3600


def test_the_probe_command_runs_both_readers_in_one_python(tmp_path: Path) -> None:
    """The command every host runs, run here: cluster.certs' reader and the status probe
    together, on a certificate, the backup agent's records and this machine's loopback."""
    state = tmp_path / "state"
    textfile = tmp_path / "textfile"
    state.mkdir()
    textfile.mkdir()
    settings = tmp_path / "config.json"
    settings.write_text(
        json.dumps({"state_dir": str(state), "textfile_dir": str(textfile), "password_file": "/x"})
    )
    (state / "last-drill.json").write_text(
        json.dumps({"ok": True, "at": 1700000000.5, "short_id": "ab"})
    )
    (textfile / "kubeprimer_etcd_backup.prom").write_text(
        'kubeprimer_etcd_backup_last_success_timestamp_seconds{host="cp1"} 1700000100\n'
    )
    cert = tmp_path / "apiserver.crt"
    cert.write_text(issue("kube-apiserver", 90))
    inv = load(inventory(tmp_path, kube_api_endpoint="127.0.0.1:8443"))
    command = status_hosts.command(inv, 10).replace(status_hosts.PYTHON, sys.executable)
    wanted = json.loads(base64.b64decode(command.rsplit(" ", 1)[1]))
    wanted.update(
        certificates=[str(cert)],
        backup=str(settings),
        etcd={**wanted["etcd"], "cert": str(tmp_path / "none")},
    )
    argument = base64.b64encode(json.dumps(wanted).encode()).decode()
    done = subprocess.run(
        f"{command.rsplit(' ', 1)[0]} {argument}",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout)
    assert list(found["certificates"]) == [str(cert)]
    assert found["vip"] is True  # the loopback carries 127.0.0.1/8
    assert found["etcd"] is None  # no client certificate: not an etcd member
    assert found["backup"]["metrics"] == {"last_success_timestamp_seconds": 1700000100.0}
    assert found["backup"]["drill"] == {"ok": True, "at": 1700000000.5, "error": None}
    assert "short_id" not in json.dumps(found["backup"])


def test_a_holder_that_cannot_be_asked_leaves_the_virtual_ip_unknown_not_missing(
    tmp_path: Path,
) -> None:
    facts = answers()
    del facts["cp1"]
    result = assembled(inventory(tmp_path), facts, healthy_api(), {"cp1": "no answer"})
    assert result.hosts.vip_unknown == ["cp1"] and result.hosts.vip_holders == []
    assert not [p for p in view.problems(result, NOW) if "virtual IP" in p]
    assert view.vip_text(result) == ("unknown (cp1 did not answer)", None)
