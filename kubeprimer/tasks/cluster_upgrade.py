"""cluster.upgrade: take a running cluster to the inventory's versions, one node at a time."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeprimer.errors import UserError, raise_if
from kubeprimer.output import JSON_HELP, console, emit_json, show
from kubeprimer.settings import resolve, setting
from kubeprimer.tasks._common import INVENTORY_HELP, load_inventory, play_on
from kubeprimer.tasks._task import task

if TYPE_CHECKING:
    from rich.console import Console

    from kubeprimer.inventory import Inventory
    from kubeprimer.upgrade.plan import Plan
    from kubeprimer.upgrade.record import Opened
    from kubeprimer.upgrade.running import Running

DRAIN_TIMEOUT = 600
READY_TIMEOUT = 300


@task(
    name="upgrade",
    help={
        "inventory": INVENTORY_HELP,
        "plan": "only show what would change, host by host and in run order; change nothing",
        "max_unavailable": "workers drained and upgraded at a time (default 1)",
        "yes": "do not ask: confirm the upgrade on the command line",
        "no_backup": "upgrade without taking and drilling an etcd backup first (warns)",
        "drain_timeout": f"seconds a node's drain may take (default {DRAIN_TIMEOUT})",
        "ready_timeout": f"seconds a node may take to be Ready again (default {READY_TIMEOUT})",
        "kubeconfig": "kubeconfig of the cluster (default: the admin kubeconfig cluster.up "
        "fetched beside the inventory)",
        "json": JSON_HELP + "; with --plan",
    },
)
def upgrade(
    c: Any,
    inventory: str | None = None,
    plan: bool = False,
    max_unavailable: int = 1,
    yes: bool = False,
    no_backup: bool = False,
    drain_timeout: int = DRAIN_TIMEOUT,
    ready_timeout: int = READY_TIMEOUT,
    kubeconfig: str | None = None,
    json: bool = False,
) -> None:
    """Upgrade the cluster to the inventory's versions, node by node; --plan shows how."""
    from kubeprimer.upgrade import backup_gate

    _check_options(plan, max_unavailable, drain_timeout, ready_timeout, json, kubeconfig)
    if not plan and not yes and not sys.stdin.isatty():
        raise UserError(
            "cluster.upgrade drains and upgrades every node and needs confirmation: run it "
            "in a terminal, or add --yes (see the steps first with --plan)."
        )
    out = console(as_json=json)
    inv = load_inventory(c, inventory)
    backup = False if plan else backup_gate.check(inv, no_backup)
    runs_dir = resolve(setting(c, "runs_dir"))
    given = Path(kubeconfig).expanduser() if kubeconfig else None
    running, steps, opened = _survey(c, inv, given, runs_dir, max_unavailable)
    for note in running.unknown:
        out.print(f"[yellow]Unknown:[/] {note}")
    if plan:
        _show(out, steps, opened, json)
        return
    if steps.nothing_to_do:
        out.print(_nothing(steps))
        return
    api = _api(inv, given)
    # Every refusal comes before the first change, and before the question.
    _before(inv, running, steps, opened, api, runs_dir)
    if not yes:
        _confirm(out, steps)
    if backup:
        backup_gate.take(c, inventory, out)
    else:
        out.print(backup_gate.WARNING)
    if opened.replaced:
        out.print(f"[yellow]{opened.replaced}[/]")
    _execute(c, inv, inventory, steps, opened, api, (drain_timeout, ready_timeout), out)


def _check_options(
    plan: bool,
    max_unavailable: int,
    drain_timeout: int,
    ready_timeout: int,
    json: bool,
    kubeconfig: str | None,
) -> None:
    problems = []
    if max_unavailable < 1:
        problems.append(
            f"--max-unavailable is {max_unavailable}; give 1 or more workers to upgrade at a time."
        )
    for flag, value in (("--drain-timeout", drain_timeout), ("--ready-timeout", ready_timeout)):
        if value < 1:
            problems.append(f"{flag} is {value}; give a number of seconds, 1 or more.")
    if json and not plan:
        problems.append("--json prints the plan for scripts: use it with --plan.")
    if kubeconfig and not Path(kubeconfig).expanduser().is_file():
        problems.append(f"The kubeconfig {kubeconfig} does not exist; pass --kubeconfig FILE.")
    raise_if(problems)


def _survey(
    c: Any, inv: Inventory, kubeconfig: Path | None, runs_dir: Path, max_unavailable: int
) -> tuple[Running, Plan, Opened]:
    """What runs, what the inventory asks for, and the plan from one to the other."""
    from kubeprimer.upgrade import plan, record, running, targets

    found = running.probe(inv, kubeconfig=kubeconfig, runs_dir=runs_dir)
    wanted = targets.of(inv, found)
    opened = record.load(runs_dir, inv.path, wanted.key())
    workers = [h.name for h in inv.group("kube_node")]
    steps = plan.build(
        [h.name for h in inv.group("kube_control_plane")],
        workers,
        targets.current(found),
        wanted,
        done=opened.record.done,
        begun=opened.record.begun,
        addons=_addon_updates(c, inv, kubeconfig, found),
        max_unavailable=max_unavailable,
    )
    return found, steps, opened


def _addon_updates(
    c: Any, inv: Inventory, kubeconfig: Path | None, found: Running
) -> list[tuple[str, str, str]]:
    """Installed addons whose version differs from their pin (kubeprimer/addons/updates.py)."""
    from kubeprimer.addons import updates

    if found.apiserver is None:
        return []
    return [(u.name, u.installed, u.pinned) for u in updates.pending(inv, kubeconfig=kubeconfig)]


def _nothing(steps: Plan) -> str:
    if not steps.running:
        return (
            "Nothing to upgrade: no cluster runs on these hosts yet; invoke cluster.up "
            "installs the inventory's versions."
        )
    addons = [
        c.component.removeprefix("addon ") for s in steps.steps if not s.runs for c in s.changes
    ]
    if addons:
        return (
            "Nothing to upgrade on the hosts: the cluster runs the inventory's versions; "
            f"the addons {', '.join(addons)} differ from their pins: run invoke addons.install."
        )
    return "Nothing to upgrade: the cluster runs the inventory's versions."


def _show(out: Console, steps: Plan, opened: Opened, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "targets": opened.record.targets,
                "record": str(opened.record.path),
                "nothing_to_do": steps.nothing_to_do,
                "steps": steps.data(),
            }
        )
        return
    if opened.replaced:
        out.print(f"[yellow]{opened.replaced}[/]")
    if steps.data():
        show(out, steps.listing())
    if steps.nothing_to_do:
        out.print(_nothing(steps))
        return
    done = [u for s in steps.steps for u in s.units if u in s.done]
    if done:
        out.print(f"Done by an earlier run (recorded in {opened.record.path}): {', '.join(done)}.")
    out.print("Run invoke cluster.upgrade to carry these steps out.")


def _api(inv: Inventory, kubeconfig: Path | None) -> Callable[[], Any]:
    """The API client, connected on first use: an etcd-only upgrade never needs it."""
    from kubeprimer.addons import kube
    from kubeprimer.cluster.kubeconfig import admin_kubeconfig

    @functools.cache
    def connect() -> Any:
        return kube.connect(kubeconfig or admin_kubeconfig(inv))

    return connect


def _before(
    inv: Inventory,
    found: Running,
    steps: Plan,
    opened: Opened,
    api: Callable[[], Any],
    runs_dir: Path,
) -> None:
    """Every reason not to start, each one sentence, all at once (exit 2): versions the
    skew rules refuse, an unhealthy or unreadable cluster, budgets that would block a
    drain."""
    from kubeprimer.upgrade import preconditions

    raise_if(preconditions.problems(inv, found, steps, opened.record.begun, api, runs_dir))


def _confirm(out: Console, steps: Plan) -> None:
    show(out, steps.listing())
    answer = input("Carry out these steps now? Type yes to go on: ").strip().lower()
    if answer != "yes":
        raise UserError("The upgrade was not confirmed, so nothing was changed; run it again.")


def _execute(
    c: Any,
    inv: Inventory,
    inventory: str | None,
    steps: Plan,
    opened: Opened,
    api: Callable[[], Any],
    timeouts: tuple[int, int],
    out: Console,
) -> None:
    from kubeprimer.upgrade import run

    def play(playbook: str, hosts: Any, step: str | None) -> None:
        extravars = {"kubeprimer_upgrade_step": step} if step else {}
        limit = ",".join(hosts) or None
        play_on(c, playbook, inv, limit=limit, extravars=extravars, console=out)

    again = "invoke cluster.upgrade" + (f" -i {inventory}" if inventory else "")
    window = run.Window(api, float(timeouts[0]), float(timeouts[1]))
    run.execute(steps, opened.record, play, window, out, again=again)
