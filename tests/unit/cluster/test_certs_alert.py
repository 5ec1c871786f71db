"""The monitoring addon's certificate alert names the command that really renews them."""

from __future__ import annotations

import re

from kubeprimer.paths import ROOT
from kubeprimer.tasks import ns

ALERTS = ROOT / "addons" / "monitoring" / "templates" / "files" / "alerts.yml.j2"


def test_the_certificate_alert_names_cluster_certs_renew_which_exists() -> None:
    text = ALERTS.read_text()
    commands = re.findall(r"invoke ([a-z][a-z.-]*)((?: --[a-z-]+)*)", text)
    assert ("cluster.certs", " --renew") in commands
    for name, options in commands:
        assert name in ns.task_names, name
        flags = {a.name for a in ns[name].get_arguments()}
        for flag in options.split():
            assert flag.removeprefix("--").replace("-", "_") in flags, flag
