"""The root task namespace: one sub-collection per module.

Each module keeps its heavy imports inside its task bodies, so that
``invoke --list`` stays fast.
"""

from __future__ import annotations

from invoke import Collection

from kubeprimer.settings import DEFAULTS
from kubeprimer.tasks import addons, app, cluster, etcd, lab, vault, versions

ns = Collection()
for _module in (lab, cluster, etcd, vault, addons, app, versions):
    ns.add_collection(_module.ns)
ns.configure({"kubeprimer": DEFAULTS})
