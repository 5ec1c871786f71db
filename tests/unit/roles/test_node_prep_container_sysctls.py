"""roles/node_prep's kernel parameters on a node that is a container (kube_node_in_container):
only those its own network and IPC namespaces hold are written and applied; kernel-wide
ones, which would change the host's kernel, are left out. On bare metal every one stays,
as before. Rendered by Ansible with the role's own variables and template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubeprimer.paths import ROLES
from tests.integration.roles.localplay import run_plays

SYSCTLS = {
    "net.ipv4.ip_forward": 1,
    "net.bridge.bridge-nf-call-iptables": 1,
    "net.netfilter.nf_conntrack_max": 262144,
    "net.netfilter.nf_conntrack_tcp_timeout_established": 86400,
    "kernel.shmmax": 68719476736,
    "kernel.msgmnb": 65536,
    "kernel.sem": "250 32000 100 128",
    "kernel.sem_next_id": -1,
    "fs.mqueue.msg_max": 64,
    "vm.overcommit_memory": 1,
    "kernel.panic": 10,
    "fs.inotify.max_user_watches": 524288,
}
NAMESPACED = {
    "net.ipv4.ip_forward": 1,
    "net.bridge.bridge-nf-call-iptables": 1,
    "net.netfilter.nf_conntrack_tcp_timeout_established": 86400,
    "kernel.shmmax": 68719476736,
    "kernel.msgmnb": 65536,
    "kernel.sem": "250 32000 100 128",
    "fs.mqueue.msg_max": 64,
}


# How each case sets kube_node_in_container; "unset" leaves it to the default.
CASES = {"unset": None, "false": False, "true": True, "true_string": "true"}


def steps(case: str) -> list[dict[str, object]]:
    flag = {} if CASES[case] is None else {"kube_node_in_container": CASES[case]}
    return [
        {
            "name": f"Write the parameters the role keeps ({case})",
            "ansible.builtin.copy": {
                "content": "{{ _node_prep_sysctls | to_json }}",
                "dest": f"{{{{ out }}}}/{case}.json",
                "mode": "0600",
            },
            "vars": flag,
        },
        {
            "name": f"Render the sysctl.d file ({case})",
            "ansible.builtin.template": {
                "src": str(ROLES / "node_prep" / "templates" / "sysctl.conf.j2"),
                "dest": f"{{{{ out }}}}/{case}.conf",
                "mode": "0600",
            },
            "vars": flag,
        },
    ]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("node-prep-sysctls")
    play = {
        "name": "Render node_prep's kernel parameters",
        "hosts": "localhost",
        "gather_facts": False,
        # The role's variables load; its tasks do not run.
        "roles": [{"role": "node_prep", "when": False}],
        "tasks": [step for case in CASES for step in steps(case)],
    }
    done = run_plays(out, [play], {"node_prep_sysctls": SYSCTLS, "out": str(out)}, {})
    assert done.returncode == 0, done.stdout[-3000:]
    return out


def lines(wanted: dict[str, object]) -> list[str]:
    return sorted(f"{k} = {v}" for k, v in wanted.items())


@pytest.mark.parametrize("case", ["unset", "false"])
def test_bare_metal_keeps_every_parameter(rendered: Path, case: str) -> None:
    assert json.loads((rendered / f"{case}.json").read_text()) == SYSCTLS
    assert sorted((rendered / f"{case}.conf").read_text().splitlines()[1:]) == lines(SYSCTLS)


@pytest.mark.parametrize("case", ["true", "true_string"])
def test_container_node_keeps_only_namespaced_parameters(rendered: Path, case: str) -> None:
    assert json.loads((rendered / f"{case}.json").read_text()) == NAMESPACED
    conf = (rendered / f"{case}.conf").read_text()
    assert sorted(conf.splitlines()[1:]) == lines(NAMESPACED)
    for kernel_wide in ("vm.overcommit_memory", "kernel.panic", "net.netfilter.nf_conntrack_max"):
        assert kernel_wide not in conf
