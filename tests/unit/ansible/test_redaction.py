"""A password in a URL (a proxy's) never reaches the run log, the live output or a message."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from kubeprimer import redact
from kubeprimer.ansible.progress import Progress
from kubeprimer.inventory import load, problems

SECRET = "Pr0xyS3cret"
URL = f"http://build:{SECRET}@proxy.example.net:3128"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (URL, "http://build:***@proxy.example.net:3128"),
        (f'Acquire::http::Proxy "{URL}";', 'Acquire::http::Proxy "http://build:***@proxy.example.net:3128";'),
        (json.dumps({"http_proxy": URL, "mail": "a@b"}), json.dumps({"http_proxy": "http://build:***@proxy.example.net:3128", "mail": "a@b"})),
        ("https://u:p%40ss@h/x and ftp://a:b@c", "https://u:***@h/x and ftp://a:***@c"),
        ("http://u:un@encoded@h:1", "http://u:***@h:1"),
        ("http://proxy:3128/a@b https://user@host", "http://proxy:3128/a@b https://user@host"),
    ],
)  # fmt: skip
def test_url_passwords_are_masked(given: str, shown: str) -> None:
    assert redact.text(given) == shown


def _events() -> list[dict[str, object]]:
    diff = {"before": "", "after": f'Acquire::http::Proxy "{URL}";\n', "after_header": "x"}
    return [
        {"event": "playbook_on_play_start", "event_data": {"play": f"Prepare via {URL}"}},
        {"event": "playbook_on_task_start", "event_data": {"task": f"Point apt at {URL}"}},
        {
            "event": "runner_on_ok",
            "stdout": f'--- before\n+++ after\n+Acquire::http::Proxy "{URL}";',
            "event_data": {"host": "cp1", "res": {"changed": True, "diff": [diff]}},
        },
        {
            "event": "runner_on_failed",
            "event_data": {"host": "w1", "res": {"msg": f"Failed to fetch through {URL}"}},
        },
    ]


def test_progress_masks_events_before_they_are_shown_or_kept() -> None:
    out = io.StringIO()
    progress = Progress(Console(file=out, width=200, color_system=None))
    events = _events()
    for event in events:
        progress.handle(event)
    # ansible-runner writes the very dicts the handler saw to the run's job_events.
    kept = json.dumps(events)
    assert SECRET not in kept and SECRET not in out.getvalue()
    assert "build:***@proxy.example.net" in kept
    assert "Failed to fetch through http://build:***@proxy.example.net:3128" in out.getvalue()


def test_a_run_folder_is_masked_in_place(tmp_path: Path) -> None:
    (tmp_path / "artifacts" / "id").mkdir(parents=True)
    (tmp_path / "artifacts" / "id" / "stdout").write_text(f"TASK [x]\n+http_proxy={URL}\n")
    (tmp_path / "binary").write_bytes(b"\xff\xfe" + URL.encode())
    redact.folder(tmp_path)
    assert SECRET not in (tmp_path / "artifacts" / "id" / "stdout").read_text()
    # Files that are not text are left alone rather than corrupted.
    assert (tmp_path / "binary").read_bytes() == b"\xff\xfe" + URL.encode()


@pytest.mark.parametrize(
    "value", [f"build:{SECRET}@proxy:3128", f"socks5://build:{SECRET}@proxy:1080"]
)
def test_inventory_messages_do_not_quote_a_proxy_password(tmp_path: Path, value: str) -> None:
    hosts = {"all": {"children": {"kube_control_plane": {"hosts": {"cp1": None}}}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(yaml.safe_dump({"proxy_http": value}))
    found = problems(load(tmp_path / "hosts.yml"))
    assert any(m.startswith("proxy_http '") and "is not a proxy URL" in m for m in found)
    assert SECRET not in " ".join(found)


def test_a_task_error_does_not_quote_a_url_password() -> None:
    from invoke import Context, Exit

    from kubeprimer.errors import UserError
    from kubeprimer.tasks._task import task

    @task()
    def failing(c: object) -> None:
        raise UserError(f"The repository rest:{URL}/etcd answers 401; check its credentials.")

    with pytest.raises(Exit) as raised:
        failing(Context())
    assert SECRET not in str(raised.value.message)
    assert "rest:http://build:***@proxy.example.net:3128/etcd" in str(raised.value.message)
