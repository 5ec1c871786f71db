"""roles/node_prep on a node that is a container (kube_node_in_container): only the kernel
parameters its own network and IPC namespaces hold are written and applied, and the
host's swap is not turned off; kernel-wide ones would change the host. On bare metal
every parameter stays and swap goes, as before. Evaluated by Ansible with the role's own
variables, template and task conditions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

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


def swapoff_condition() -> str:
    """The conditions of the role's "Turn swap off" task, as one expression."""
    tasks = yaml.safe_load((ROLES / "node_prep" / "tasks" / "configure.yml").read_text())
    (task,) = [t for t in tasks if t["name"] == "Turn swap off"]
    # The role's own (skipped) tasks registered __node_prep_swap, which outranks task vars.
    joined = ") and (".join(task["when"]).replace("__node_prep_swap", "swapon")
    return "{{ (" + joined + ") }}"


def steps(case: str) -> list[dict[str, object]]:
    flag = {} if CASES[case] is None else {"kube_node_in_container": CASES[case]}
    return [
        {
            "name": f"Decide whether swap is turned off ({case})",
            "ansible.builtin.copy": {
                "content": swapoff_condition(),
                "dest": f"{{{{ out }}}}/{case}.swapoff",
                "mode": "0600",
            },
            # What swapon reports when swap is on (in a container: the host's).
            "vars": {**flag, "swapon": {"stdout": "/swapfile\n"}},
        },
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
    assert (rendered / f"{case}.swapoff").read_text() == "True"
    assert json.loads((rendered / f"{case}.json").read_text()) == SYSCTLS
    assert sorted((rendered / f"{case}.conf").read_text().splitlines()[1:]) == lines(SYSCTLS)


@pytest.mark.parametrize("case", ["true", "true_string"])
def test_container_node_keeps_only_namespaced_parameters(rendered: Path, case: str) -> None:
    assert (rendered / f"{case}.swapoff").read_text() == "False"
    assert json.loads((rendered / f"{case}.json").read_text()) == NAMESPACED
    conf = (rendered / f"{case}.conf").read_text()
    assert sorted(conf.splitlines()[1:]) == lines(NAMESPACED)
    for kernel_wide in ("vm.overcommit_memory", "kernel.panic", "net.netfilter.nf_conntrack_max"):
        assert kernel_wide not in conf
