"""Project settings: the defaults in invoke.yaml, overridden by the environment
(INVOKE_KUBEPRIMER_*), ``invoke -f FILE`` and each task's command-line options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kubeprimer.paths import ROOT

PROJECT_CONFIG = ROOT / "invoke.yaml"


def _project_defaults() -> dict[str, Any]:
    """The ``kubeprimer`` section of the checkout's invoke.yaml.

    invoke.yaml is the one place a default is written, with its comment. Invoke reads it
    itself when run in the checkout; reading it here too gives the same defaults to the
    ``kubeprimer`` console script run from any directory and to library code (the lab,
    the Molecule driver), so a new setting is one edit of invoke.yaml.
    """
    data = yaml.safe_load(PROJECT_CONFIG.read_text(encoding="utf-8"))
    return dict(data["kubeprimer"])


DEFAULTS: dict[str, Any] = _project_defaults()


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
