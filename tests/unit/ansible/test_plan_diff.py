"""cluster.plan shows each change as a unified diff, from Ansible's own result events.

The results below have the shape ansible-playbook --check --diff gives them (template,
file, lineinfile, a no_log task, a task with diff: false); the lab test
tests/integration/cluster/test_plan_masks_proxy_password_lab_nodes.py runs the real one.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

from rich.console import Console

from kubeprimer.ansible import diff
from kubeprimer.ansible.progress import Progress

SYSCTL = "/etc/sysctl.d/90-kubeprimer.conf"


def template_result(before: str, after: str) -> dict[str, Any]:
    """What the template module returns in check mode: the diff, and its arguments."""
    return {
        "changed": True,
        "invocation": {"module_args": {"dest": SYSCTL, "src": "sysctl.conf.j2"}},
        "diff": [
            {
                "before": before,
                "after": after,
                "before_header": SYSCTL,
                "after_header": "/root/.ansible/tmp/ansible-local-1abc/tmpx/sysctl.conf.j2",
            }
        ],
    }


def test_an_edited_file_is_a_unified_diff_of_the_destination() -> None:
    res = template_result(
        "net.ipv4.ip_forward = 0\nvm.x = 1\n", "net.ipv4.ip_forward = 1\nvm.x = 1\n"
    )
    assert diff.lines(res, "ansible.builtin.template") == [
        f"--- {SYSCTL}",
        f"+++ {SYSCTL}",
        "@@ -1,2 +1,2 @@",
        "-net.ipv4.ip_forward = 0",
        "+net.ipv4.ip_forward = 1",
        " vm.x = 1",
    ]


def test_attributes_are_diffed_as_key_lines() -> None:
    res = {
        "changed": True,
        "path": "/etc/kubeprimer",
        "diff": {
            "before": {"path": "/etc/kubeprimer", "state": "absent"},
            "after": {"state": "directory"},
        },
    }
    shown = diff.lines(res, "ansible.builtin.file")
    assert shown[:2] == ["--- /etc/kubeprimer", "+++ /etc/kubeprimer"]
    assert "-state: absent" in shown and "+state: directory" in shown


def test_passwords_in_urls_are_masked() -> None:
    res = template_result("", 'Acquire::http::Proxy "http://build:S3cret@10.0.0.1:3128";\n')
    shown = "\n".join(diff.lines(res, "template"))
    assert "S3cret" not in shown
    assert 'Proxy "http://build:***@10.0.0.1:3128"' in shown


def test_no_log_and_diff_false_show_content_hidden() -> None:
    censored = {
        "censored": "the output has been hidden due to the fact that 'no_log: true' was specified",
        "changed": True,
    }
    assert diff.lines(censored, "ansible.builtin.copy") == ["(content hidden: the task has no_log)"]
    # diff: false: the module returns no diff at all.
    quiet = {"changed": True, "dest": "/etc/etcd/backup.env"}
    assert diff.lines(quiet, "ansible.builtin.template") == [
        "(content hidden: the task turns its diff off)"
    ]
    # A command has nothing to diff: nothing is shown, nothing is claimed hidden.
    assert diff.lines({"changed": True, "cmd": ["true"]}, "ansible.builtin.command") == []


def test_a_loop_shows_its_changed_items_only() -> None:
    one = template_result("a\n", "b\n")
    one["invocation"]["module_args"]["dest"] = "/etc/one"
    del one["diff"][0]["before_header"]
    res = {
        "changed": True,
        "results": [
            one,
            {"changed": False, "dest": "/etc/two", "diff": [{"before": "x\n", "after": "x\n"}]},
            {"censored": "hidden", "changed": True},
        ],
    }
    shown = diff.lines(res, "template")
    assert "--- /etc/one" in shown and "+b" in shown
    assert not any("/etc/two" in line for line in shown)
    assert shown[-1] == "(content hidden: the task has no_log)"


def events(res: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "event": "playbook_on_task_start",
            "event_data": {"task": "Write the kernel parameters", "role": "node_prep"},
        },
        {
            "event": "runner_on_ok",
            "event_data": {"host": "kp-2", "task_action": "ansible.builtin.template", "res": res},
        },
    ]


def test_progress_prints_the_diff_under_the_host_in_diff_mode_only() -> None:
    res = template_result("net.ipv4.ip_forward = 0\n", "net.ipv4.ip_forward = 1\n")
    for show_diff in (True, False):
        console = Console(file=StringIO(), width=200)
        progress = Progress(console, show_diff=show_diff)
        for event in events({**res, "diff": [dict(d) for d in res["diff"]]}):
            progress.handle(event)
        text = console.file.getvalue()  # type: ignore[attr-defined]
        assert "changed     kp-2" in text
        assert ("+net.ipv4.ip_forward = 1" in text) is show_diff
        assert (f"--- {SYSCTL}" in text) is show_diff
