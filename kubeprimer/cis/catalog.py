"""Every check cluster.cis runs, in the benchmark's order (sections 1 to 4 of
kube-bench's cis-1.12: 1.1-1.4, 2, 3, 4.1-4.2)."""

from __future__ import annotations

from kubeprimer.cis.check import Check
from kubeprimer.cis.control_plane import (
    API_SERVER,
    CONFIGURATION,
    CONTROLLER_MANAGER,
    SCHEDULER_CHECKS,
)
from kubeprimer.cis.etcd import ETCD_CHECKS
from kubeprimer.cis.files import CONTROL_PLANE_FILES, NODE_FILES
from kubeprimer.cis.kubelet import KUBELET


def _order(check: Check) -> tuple[int, ...]:
    return tuple(int(part) for part in check.id.split("."))


CHECKS: list[Check] = sorted(
    [
        *CONTROL_PLANE_FILES,
        *API_SERVER,
        *CONTROLLER_MANAGER,
        *SCHEDULER_CHECKS,
        *ETCD_CHECKS,
        *CONFIGURATION,
        *NODE_FILES,
        *KUBELET,
    ],
    key=_order,
)
