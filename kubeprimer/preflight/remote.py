"""Collect preflight facts from every host at once, through Ansible itself.

The probe is one ``raw`` task (it needs no Python module transfer, so a host without
python3 is reported, not crashed on) run by ``ansible`` with the inventory, ansible.cfg
and privilege escalation exactly as the playbooks use them: ``ansible_host``/``_port``/
``_user``, the private key, ``ansible_ssh_common_args``/``_extra_args`` (ProxyJump,
ProxyCommand), ``ansible_become``/``_method``/``_user``/``_password``, group_vars and
host_vars. Host keys are checked against the inventory's known_hosts like every run.
"""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeprimer.ansible import hostkeys
from kubeprimer.ansible.runner import environment, forget_environment, new_run_dir
from kubeprimer.inventory import Inventory
from kubeprimer.paths import ROOT
from kubeprimer.preflight.report import REFUSED

PROBE = Path(__file__).with_name("probe.py")
_RESULTS = {"runner_on_ok", "runner_on_failed", "runner_on_unreachable"}


# The interpreter the playbooks' modules use on the host, where the inventory names one
# (ansible_python_interpreter: /opt/python/bin/python3); Ansible templates it per host.
PYTHON = (
    "{{ ansible_python_interpreter if (ansible_python_interpreter | default('')) is match('/') "
    "else 'python3' }}"
)


def probe_command(peers: list[str], script: Path = PROBE) -> str:
    # The probe travels inside the command, so one round trip per host suffices.
    code = base64.b64encode(script.read_bytes()).decode()
    runner = f"import base64;exec(compile(base64.b64decode('{code}'),'probe','exec'))"
    return f"{PYTHON} -c {shlex.quote(runner)} {' '.join(shlex.quote(p) for p in peers)}"


@dataclass
class Gathered:
    """What preflight learnt: facts per host that answered, a reason per host that did
    not (and which of them could not be reached at all), the sentences for host keys
    that were refused, and the keys recorded."""

    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    unreachable: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)


def gather(
    inv: Inventory,
    timeout: int = 10,
    runs_dir: Path = ROOT / ".runs",
    command: str | None = None,
    label: str = "preflight",
) -> Gathered:
    """Run the probe on every host in parallel, as the playbooks reach them.

    ``command`` replaces the preflight probe with another read-only one that prints its
    JSON object last (cluster.certs reads certificates this way)."""
    import ansible_runner  # heavy: keep `invoke --list` fast

    known = hostkeys.known_hosts(inv.path)
    names = hostkeys.entry_names(inv.path)
    before = hostkeys.entries(known)
    refusals = hostkeys.Refusals(known, names)
    results: dict[str, tuple[str, dict[str, Any]]] = {}

    def handle(event: dict[str, Any]) -> bool:
        refusals.note(event)
        data = event.get("event_data") or {}
        if event.get("event") in _RESULTS:
            results[str(data.get("host"))] = (str(event["event"]), data.get("res") or {})
        return True

    log_dir = new_run_dir(runs_dir, label)
    env = environment(inv.path, runs_dir)
    # A fresh connection, never an earlier run's master: ssh checks the key only on connect.
    env["ANSIBLE_SSH_ARGS"] = "-o ControlPath=none " + env["ANSIBLE_SSH_ARGS"]
    ansible_runner.run(
        private_data_dir=str(log_dir),
        inventory=str(inv.path.resolve()),
        host_pattern="all",
        module="ansible.builtin.raw",
        module_args=command or probe_command(sorted(inv.hosts)),
        # The plays escalate (become: true); so does the probe, which proves it works.
        cmdline=f"--become --timeout {int(timeout)}",
        forks=max(1, len(inv.hosts)),
        envvars=env,
        fact_cache_type="",
        event_handler=handle,
        quiet=True,
    )
    forget_environment(log_dir)
    found = Gathered(refused=refusals.sentences())
    found.recorded = hostkeys.recorded_lines(known, before, names)
    for name in inv.hosts:
        kind, res = results.get(name, ("", {}))
        facts = _facts(res) if kind == "runner_on_ok" else None
        if facts is not None:
            found.facts[name] = facts
            continue
        if kind in ("runner_on_unreachable", ""):
            found.unreachable.add(name)
        if name in refusals.messages:
            found.errors[name] = REFUSED
        else:
            found.errors[name] = _explain(kind, res)
    return found


def _facts(res: dict[str, Any]) -> dict[str, Any] | None:
    # raw runs on a terminal: stderr may be mixed in, and lines end in \r\n.
    for line in reversed(str(res.get("stdout", "")).splitlines()):
        if line.strip().startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
    return None


def _explain(kind: str, res: dict[str, Any]) -> str:
    text = "\n".join(str(res.get(k) or "") for k in ("msg", "stdout", "stderr", "module_stdout"))
    lowered = text.lower()
    if kind == "runner_on_unreachable":
        return f"unreachable over SSH ({_last(res.get('msg'))})"
    if "password" in lowered and ("sudo" in lowered or "become" in lowered or "su:" in lowered):
        return (
            "privilege escalation asks for a password (give the user passwordless sudo, "
            "or set ansible_become_password in a vault)"
        )
    if "python3" in lowered and "not found" in lowered:
        return "python3 is missing (install it: apt-get install python3)"
    if not kind:
        return "no answer (check ansible_host and the SSH settings)"
    return f"the probe failed: {_last(text)}"


def _last(text: Any) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no output"
