"""Progress and recap come from ansible-runner events, as recorded from a real run."""

from __future__ import annotations

import io

from rich.console import Console

from kubeprimer.ansible.progress import Progress
from kubeprimer.ansible.runner import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, _exit_code
from kubeprimer.output import show


def run(events: list[dict[str, object]]) -> tuple[Progress, str]:
    out = io.StringIO()
    progress = Progress(Console(file=out, width=120, color_system=None))
    for event in events:
        progress.handle(event)
    return progress, out.getvalue()


EVENTS: list[dict[str, object]] = [
    {"event": "playbook_on_play_start", "event_data": {"play": "Prepare nodes"}},
    {
        "event": "playbook_on_task_start",
        "event_data": {"task": "Turn swap off", "role": "node_prep"},
    },
    {"event": "runner_on_ok", "event_data": {"host": "cp1", "res": {"changed": True}}},
    {"event": "runner_on_ok", "event_data": {"host": "w1", "res": {"changed": False}}},
    {
        "event": "playbook_on_task_start",
        "event_data": {
            "task": "Run kubeadm init",
            "role": "kubeadm",
            "resolved_role": "kubeprimer.cluster.kubeadm",
        },
    },
    {"event": "runner_on_skipped", "event_data": {"host": "cp1", "res": None}},
    {"event": "runner_on_failed", "event_data": {"host": "w1", "res": {"msg": "boom"}}},
    {
        "event": "runner_on_unreachable",
        "event_data": {"host": "w2", "res": {"msg": "ssh: timeout"}},
    },
    {
        "event": "playbook_on_stats",
        "event_data": {
            "ok": {"cp1": 2, "w1": 1},
            "changed": {"cp1": 1},
            "failures": {"w1": 1},
            "dark": {"w2": 1},
            "skipped": {"cp1": 1},
        },
    },
]


def test_lines_per_task_and_host() -> None:
    progress, text = run(EVENTS)
    assert "PLAY Prepare nodes" in text
    assert "node_prep : Turn swap off" in text
    assert "changed     cp1" in text
    assert "w1" in text and "boom" in text
    assert progress.failures == [
        ("w1", "kubeadm : Run kubeadm init", "boom"),
        ("w2", "kubeadm : Run kubeadm init", "ssh: timeout"),
    ]


def test_recap_counts_per_host() -> None:
    progress, _ = run(EVENTS)
    assert progress.stats["cp1"] == {"ok": 2, "changed": 1, "skipped": 1}
    out = io.StringIO()
    show(Console(file=out, width=120, color_system=None), progress.recap())
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["Recap", lines[1]] and lines[1].split() == [
        "HOST",
        "OK",
        "CHANGED",
        "FAILED",
        "UNREACHABLE",
        "SKIPPED",
    ]
    row = next(line for line in lines if line.startswith("w2 "))
    assert row.split()[4] == "1"  # unreachable column
    assert "│" not in out.getvalue()  # a pipe gets plain columns


def test_recap_on_a_terminal_is_a_table() -> None:
    progress, _ = run(EVENTS)
    out = io.StringIO()
    show(Console(file=out, width=120, force_terminal=True, color_system=None), progress.recap())
    row = next(line for line in out.getvalue().splitlines() if " w2 " in line)
    assert row.split("│")[5].strip() == "1"


def test_skips_that_are_not_conditions_are_unpredictable_in_check_mode() -> None:
    progress, _ = run(EVENTS)
    assert progress.unpredictable == ["kubeadm : Run kubeadm init"]
    conditional = [
        {"event": "playbook_on_task_start", "event_data": {"task": "Maybe"}},
        {
            "event": "runner_on_skipped",
            "event_data": {
                "host": "cp1",
                "res": {"false_condition": "x", "skip_reason": "Conditional result was False"},
            },
        },
    ]
    assert run(conditional)[0].unpredictable == []


def test_exit_codes() -> None:
    assert _exit_code({"a": {"ok": 1}}, 0) == EXIT_OK
    assert _exit_code({"a": {"failed": 1}}, 2) == EXIT_FAILED
    assert _exit_code({"a": {"unreachable": 1}, "b": {"failed": 1}}, 4) == EXIT_UNREACHABLE
    assert _exit_code({}, 1) == EXIT_FAILED


def test_stages_that_run_again_are_named_with_the_reason() -> None:
    drifted = {"nodes": "changed on the host: file:/etc/hosts"}
    pending = {**drifted, "kube_artifacts": "no record of a completed run"}
    res = {"pending": pending, "drifted": drifted}
    _, out = run(
        [
            {"event": "playbook_on_task_start", "event_data": {"task": "Find the stages"}},
            {"event": "runner_on_ok", "event_data": {"host": "w1", "res": res}},
        ]
    )
    assert "runs again w1: nodes: changed on the host: file:/etc/hosts" in out
    assert "kube_artifacts" not in out


def test_a_role_named_by_its_collection_shows_by_its_short_name() -> None:
    started = {"task": "Write the CA", "role": "kubeprimer.cluster.pki"}
    _, text = run([{"event": "playbook_on_task_start", "event_data": started}])
    assert "▸ pki : Write the CA" in text
