"""Carry a cluster.upgrade plan out, step by step, recording each finished unit.

The host work is in the playbooks (playbooks/etcd_upgrade.yml, and playbooks/upgrade.yml
with ``kubeprimer_upgrade_step``); the API work around each node's window is here:
drain before the ``node`` step, then wait until the node is Ready and uncordon it.
A unit is recorded only once all of that is done, so a run that stops anywhere (killed,
a failed playbook, a drain that timed out, a node that never came back) repeats at most
the unit it was in, and never drains a finished node again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from invoke import Exit
from rich.console import Console

from kubeprimer.addons.kube import NotReady
from kubeprimer.errors import UserError
from kubeprimer.upgrade.plan import ETCD, NODE, Plan, Step
from kubeprimer.upgrade.record import Record

# (playbook, hosts to limit the run to (empty: the playbook's own), upgrade.yml step)
Play = Callable[[str, Sequence[str], str | None], None]


@dataclass(frozen=True)
class Window:
    """What the API side of a node's window needs: the client (connected on first use)
    and the time limits."""

    api: Callable[[], Any]
    drain_timeout: float
    ready_timeout: float


def execute(
    plan: Plan,
    record: Record,
    play: Play,
    window: Window,
    out: Console,
    again: str = "invoke cluster.upgrade",
) -> None:
    """Every pending step in order; the record is closed once the last one is done.
    ``again`` is the command that continues a stopped run, as the user typed it."""
    todo = plan.pending
    nodes = sum(len(s.hosts) for s in todo if s.kind == NODE)
    finished = 0
    for step in todo:
        try:
            record.begin(list(step.units))
            if step.kind == ETCD:
                out.print(
                    f"[bold]etcd[/]: rolling upgrade of {', '.join(step.hosts)}, the leader last"
                )
                play("etcd_upgrade.yml", [], None)
                record.mark(ETCD)
            elif step.kind == NODE:
                finished += _nodes(step, record, play, window, out, (finished, nodes))
            else:
                out.print(f"[bold]{step.kind}[/]: {_what(step)}")
                play("upgrade.yml", step.hosts, step.kind)
                for unit in step.units:
                    record.mark(unit)
        except Exit as stopped:
            raise Exit(f"{stopped.message} {_resume(step, again)}", code=stopped.code) from None
        except (NotReady, UserError) as stopped:
            # Hosts may already have changed: not a refusal before anything (exit 2).
            raise Exit(f"{stopped} {_resume(step, again)}", code=1) from None
    record.close()
    out.print("[green]The upgrade is complete[/]: every step is done and its record is closed.")


def _nodes(
    step: Step,
    record: Record,
    play: Play,
    window: Window,
    out: Console,
    progress: tuple[int, int],
) -> int:
    """One batch of nodes through their window: drain, host step, Ready, uncordon."""
    from kubeprimer.cluster.drain import drain, uncordon, wait_ready

    hosts = [h for h in step.hosts if not record.is_done(f"{NODE}:{h}")]
    done, total = progress
    for host in hosts:
        out.print(f"[bold]{host}[/]: draining (up to {window.drain_timeout:.0f} s)")
        drain(window.api(), host, window.drain_timeout)
    out.print(f"[bold]{', '.join(hosts)}[/]: {_what(step)}")
    play("upgrade.yml", hosts, NODE)
    for host in hosts:
        out.print(f"[bold]{host}[/]: waiting until Ready (up to {window.ready_timeout:.0f} s)")
        wait_ready(window.api(), host, window.ready_timeout)
        uncordon(window.api(), host)
        record.mark(f"{NODE}:{host}")
        done += 1
        out.print(f"[bold]{host}[/]: upgraded, Ready and uncordoned ({done} of {total} nodes)")
    return len(hosts)


def _what(step: Step) -> str:
    return "; ".join(
        f"{c.component} {c.old or '?'} → {c.new} on {c.host or 'the cluster'}" for c in step.changes
    )


def _resume(step: Step, again: str) -> str:
    where = f" on {', '.join(step.hosts)}" if step.hosts else ""
    return (
        f"The upgrade stopped in its {step.kind} step{where}; the finished steps are recorded: "
        f"fix the cause and run '{again}' to continue there."
    )
