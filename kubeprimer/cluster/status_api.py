"""cluster.status through the API server: one round of reads with the admin kubeconfig.

Nodes and their versions and the pod network come from kubeprimer/upgrade/running.py,
the addons' rollout from kubeprimer/addons/status.py; the control plane's static pods
(kubeadm labels them ``tier: control-plane``) are read here. When the API server cannot
be reached the whole part is unknown and ``error`` says why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeprimer.addons.status import AddonStatus
from kubeprimer.errors import UserError
from kubeprimer.upgrade.running import Cni, Node

# kubeadm's static pods, by their ``component`` label; etcd only where it is stacked.
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")


@dataclass(frozen=True)
class Pod:
    node: str
    component: str
    phase: str
    ready: bool


@dataclass
class Api:
    """What the API server said; ``error`` is set (and the rest empty) when it did not."""

    version: str | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    cni: Cni | None = None
    pods: list[Pod] = field(default_factory=list)
    addons: list[AddonStatus] = field(default_factory=list)
    error: str = ""


def control_plane_pods(api: Any) -> list[Pod]:
    from kubeprimer.addons.kube import resource

    pods = api.get(
        resource(api, "v1", "Pod"), namespace="kube-system", label_selector="tier=control-plane"
    )
    found = []
    for item in pods.to_dict().get("items") or []:
        labels = (item.get("metadata") or {}).get("labels") or {}
        component = str(labels.get("component") or "")
        if component not in COMPONENTS:
            continue
        status = item.get("status") or {}
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        found.append(
            Pod(
                node=str((item.get("spec") or {}).get("nodeName") or ""),
                component=component,
                phase=str(status.get("phase") or "Unknown"),
                ready=conditions.get("Ready") == "True",
            )
        )
    return found


def read(kubeconfig: Path, connect: Callable[[Path], Any] | None = None) -> Api:
    """Everything cluster.status asks the API server, or the reason it could not."""
    from kubeprimer.addons import kube
    from kubeprimer.addons import status as addons
    from kubeprimer.upgrade import running

    found = Api()
    if not kubeconfig.is_file():
        found.error = f"no admin kubeconfig at {kubeconfig} (cluster.up writes it)"
        return found
    try:
        api = (connect or kube.connect)(kubeconfig)
        with kube.refusals():
            found.version = str(api.version["kubernetes"]["gitVersion"])
            found.nodes = running.nodes(api)
            found.cni = running.cni(api)
            found.pods = control_plane_pods(api)
            found.addons = addons.status(api)
    except UserError as error:
        found = Api(error=str(error))
    except Exception as error:  # the client's own errors: a server that answered badly
        first = (str(error).strip().splitlines() or [""])[0][:200]
        found = Api(error=f"{error.__class__.__name__}: {first}")
    return found


class Background:
    """The API round on a thread, so that it overlaps the SSH round; a server that
    hangs is given up on after ``timeout`` seconds (the client has no overall limit)."""

    def __init__(self, reader: Callable[[], Api], timeout: float) -> None:
        self._result: list[Api] = []
        self._timeout = timeout
        self._thread = threading.Thread(target=lambda: self._result.append(reader()), daemon=True)
        self._thread.start()

    def result(self) -> Api:
        self._thread.join(self._timeout)
        if self._result:
            return self._result[0]
        return Api(error=f"the API server did not answer within {self._timeout:g} s")
