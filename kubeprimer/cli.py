"""The ``kubeprimer`` console script: the same task tree as ``invoke`` in the checkout."""

from __future__ import annotations

from typing import Any

from invoke import Config, Program

from kubeprimer import __version__
from kubeprimer.paths import ROOT


class _Config(Config):
    """Reads the checkout's invoke.yaml wherever the command is run from."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("project_location", str(ROOT))
        super().__init__(*args, **kwargs)


def main() -> None:
    from kubeprimer.tasks import ns

    Program(
        name="kubeprimer",
        binary="kubeprimer",
        namespace=ns,
        version=__version__,
        config_class=_Config,
    ).run()
