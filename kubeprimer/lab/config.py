"""Lab settings: the ``lab_*`` keys of the project settings, as one typed object.

Library code, the Molecule driver and the test fixtures use the same defaults as
the Invoke tasks, which override them from ``invoke.yaml`` and the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeprimer import platforms
from kubeprimer.settings import DEFAULTS

# Debian releases a lab node can run (debootstrap suites), oldest first: the
# supported ones, which the tests cover on lab nodes.
RELEASES = platforms.debian_releases()


@dataclass(frozen=True)
class LabConfig:
    name: str = DEFAULTS["lab_name"]
    supernet: str = DEFAULTS["lab_supernet"]
    max_nodes: int = DEFAULTS["lab_max_nodes"]
    mirror: str = DEFAULTS["lab_mirror"]
    suite: str = DEFAULTS["lab_suite"]
    proxy_port: int = DEFAULTS["lab_proxy_port"]
    boot_timeout: float = DEFAULTS["lab_boot_timeout"]
    state_dir: Path = field(default_factory=lambda: Path(DEFAULTS["lab_state_dir"]))
    cache_dir: Path = field(default_factory=lambda: Path(DEFAULTS["lab_cache_dir"]))

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> LabConfig:
        """From the Invoke config's ``kubeprimer`` section; ``None`` overrides are ignored."""

        def get(key: str) -> Any:
            value = overrides.get(key)
            return value if value is not None else settings[f"lab_{key}"]

        return cls(
            name=str(get("name")),
            supernet=str(get("supernet")),
            max_nodes=int(get("max_nodes")),
            mirror=str(get("mirror")),
            suite=str(get("suite")),
            proxy_port=int(get("proxy_port")),
            boot_timeout=float(get("boot_timeout")),
            state_dir=Path(get("state_dir")),
            cache_dir=Path(get("cache_dir")),
        )
