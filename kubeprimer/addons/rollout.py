"""Wait for workloads to roll out, with live progress, the way ``kubectl rollout status`` judges.

A Deployment is done when the controller has seen its latest generation and every
replica is updated and available; a StatefulSet when every replica is updated and
ready; a DaemonSet when every scheduled pod is updated and available; a Job when it
has succeeded; a CustomResourceDefinition when it is Established.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kubeprimer.addons.kube import NotReady, fetch
from kubeprimer.addons.record import Ref

WATCHED = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CustomResourceDefinition")


@dataclass(frozen=True)
class State:
    ready: int
    want: int
    done: bool


def _get(obj: Any, *path: str, default: Any = 0) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
        if obj is None:
            return default
    return obj


def state(obj: dict[str, Any]) -> State:
    """How far ``obj`` (a plain dict of a live object) is from being rolled out."""
    kind, status = obj["kind"], obj.get("status") or {}
    seen = _get(status, "observedGeneration") >= _get(obj, "metadata", "generation")
    if kind == "Deployment":
        want = _get(obj, "spec", "replicas", default=1)
        ready = _get(status, "availableReplicas")
        return State(ready, want, seen and _get(status, "updatedReplicas") == want == ready)
    if kind == "StatefulSet":
        want = _get(obj, "spec", "replicas", default=1)
        ready = _get(status, "readyReplicas")
        same = _get(status, "currentRevision", default="") == _get(
            status, "updateRevision", default=""
        )
        return State(
            ready, want, seen and same and _get(status, "updatedReplicas") == want == ready
        )
    if kind == "DaemonSet":
        want = _get(status, "desiredNumberScheduled")
        ready = _get(status, "numberAvailable")
        return State(ready, want, seen and _get(status, "updatedNumberScheduled") == want == ready)
    if kind == "Job":
        want = _get(obj, "spec", "completions", default=1)
        ready = _get(status, "succeeded")
        return State(ready, want, ready >= want)
    conditions = _get(status, "conditions", default=[])
    established = any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
    return State(int(established), 1, established)


def watched(refs: list[Ref]) -> list[Ref]:
    return [r for r in refs if r.kind in WATCHED]


def live_state(client: Any, ref: Ref) -> State | None:
    obj = fetch(client, ref.api_version, ref.kind, ref.name, ref.namespace)
    return state(obj.to_dict()) if obj is not None else None


def wait(client: Any, refs: list[Ref], *, timeout: float, poll: float, console: Console) -> None:
    """Poll until every watched object is rolled out; NotReady names the laggards."""
    todo = watched(refs)
    if not todo:
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    deadline = time.monotonic() + timeout
    with Progress(*columns, console=console, transient=False) as progress:
        bars = {ref: progress.add_task(str(ref), total=None) for ref in todo}
        while True:
            pending = []
            for ref, bar in bars.items():
                now = live_state(client, ref)
                if now is None or not now.done:
                    pending.append((ref, now))
                if now is not None:
                    progress.update(bar, completed=now.ready, total=max(now.want, now.ready, 1))
            if not pending:
                return
            if time.monotonic() >= deadline:
                late = "; ".join(
                    f"{ref} {'is missing' if s is None else f'has {s.ready}/{s.want} ready'}"
                    for ref, s in pending
                )
                raise NotReady(f"Not rolled out after {timeout:.0f} s: {late}.")
            time.sleep(poll)
