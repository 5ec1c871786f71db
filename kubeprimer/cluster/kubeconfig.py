"""Where cluster.up leaves the admin kubeconfig on the controller.

The kubeadm role fetches it to ``kubeadm_admin_kubeconfig``, by default
``<inventory folder>/artifacts/admin.conf`` (mode 0600, folder 0700), so each
inventory keeps its own cluster's credentials beside it.
"""

from __future__ import annotations

from pathlib import Path

from kubeprimer.inventory import Inventory

DEFAULT_RELATIVE = Path("artifacts") / "admin.conf"


def admin_kubeconfig(inv: Inventory) -> Path:
    """The path the kubeadm role fetched the admin kubeconfig to."""
    given = inv.settings.get("kubeadm_admin_kubeconfig")
    # A templated value is Ansible's to resolve; the default location is the documented one.
    if isinstance(given, str) and given and "{{" not in given:
        path = Path(given).expanduser()
        return path if path.is_absolute() else inv.path.parent / path
    return inv.path.parent / DEFAULT_RELATIVE
