"""Import the repo's Ansible plugins (plugins/) as ordinary modules for unit tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from kubeprimer.paths import PLUGINS, ROLES


def load(relative: str) -> ModuleType:
    """A plugin file by its path under plugins/ (or roles/, for role libraries)."""
    path = PLUGINS / relative if (PLUGINS / relative).exists() else ROLES / relative
    spec = importlib.util.spec_from_file_location(Path(relative).stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
