"""Project settings: built-in defaults, overridden by invoke.yaml, the environment
(INVOKE_KUBEPRIMER_*) and each task's command-line options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubeprimer.paths import ROOT

# invoke.yaml repeats these with comments; they are here too so that the
# ``kubeprimer`` console script works from any directory.
DEFAULTS: dict[str, Any] = {
    "inventory": "inventories/lab/hosts.yml",
    "runs_dir": ".runs",
    "forks_max": 50,
    # The local lab (kubeprimer.lab); invoke.yaml documents each key.
    "lab_name": "kp",
    "lab_nodes": 3,
    "lab_supernet": "10.139.0.0/16",
    "lab_max_nodes": 12,
    "lab_mirror": "http://deb.debian.org/debian",
    "lab_suite": "bookworm",
    "lab_proxy_port": 3142,
    "lab_boot_timeout": 60,
    "lab_state_dir": "/var/lib/kubeprimer/lab",
    "lab_cache_dir": "/var/cache/kubeprimer/lab",
}


def setting(c: Any, name: str) -> Any:
    """One kubeprimer setting from the Invoke context's configuration."""
    return c.config.kubeprimer[name]


def resolve(path: str | Path) -> Path:
    """Relative paths in settings are relative to the checkout, not the shell's cwd."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else ROOT / p


def inventory_path(c: Any, given: str | None) -> Path:
    """The inventory a task works on: ``-i`` when given, else the configured one."""
    return Path(given).expanduser().resolve() if given else resolve(setting(c, "inventory"))
