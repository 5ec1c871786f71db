"""Reading the probe's answer out of Ansible's raw results (recorded as Ansible 2.19 gives them)."""

from __future__ import annotations

from kubeprimer.preflight import remote


def test_facts_come_from_the_json_line_of_a_terminal_output() -> None:
    res = {
        "rc": 0,
        "stdout": '{"euid": 0, "hostname": "n1"}\r\n',
        "stderr": "Shared connection closed.\r\n",
    }
    assert remote._facts(res) == {"euid": 0, "hostname": "n1"}
    assert remote._facts({"rc": 0, "stdout": "not json\r\n"}) is None


def test_reasons_say_what_to_fix() -> None:
    sudo = {"rc": 1, "stdout": "sudo: a password is required\r\n", "msg": "non-zero return code"}
    assert "ansible_become_password" in remote._explain("runner_on_failed", sudo)
    python = {"rc": 127, "stdout": "/bin/sh: 1: python3: not found\r\n"}
    assert remote._explain("runner_on_failed", python).startswith("python3 is missing")
    down = {
        "msg": "Failed to connect to the host via ssh: ssh: connect to host 10.1.0.9 port 22: No route to host"
    }
    assert remote._explain("runner_on_unreachable", down).startswith("unreachable over SSH (")
