"""The node-exporter textfile metric that lets Prometheus alert on a stale backup.

Written atomically (a temporary file renamed over the old one), so node-exporter
never reads half a file. A failed run keeps the last success time of the run
before it: the alert measures the age of the last good backup.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

FILE_NAME = "kubeprimer_etcd_backup.prom"
PREFIX = "kubeprimer_etcd_backup"

HELP = {
    "last_success_timestamp_seconds": "Unix time of the last etcd backup that was stored and checked.",
    "last_attempt_timestamp_seconds": "Unix time of the last etcd backup attempt.",
    "last_success": "1 when the last etcd backup attempt succeeded, else 0.",
    "duration_seconds": "Wall time of the last successful etcd backup.",
    "size_bytes": "Size of the etcd snapshot in the last successful backup.",
    "revision": "etcd revision of the snapshot in the last successful backup.",
    "last_check_success_timestamp_seconds": "Unix time of the last restic check that passed.",
    "last_check_success": "1 when the last restic check of the repository passed, else 0.",
    "last_drill_success_timestamp_seconds": "Unix time of the last restore drill that passed.",
    "last_drill_success": "1 when the last restore drill passed, else 0.",
}


def previous(directory: Path) -> dict[str, float]:
    """The values of the last written file, so a failure keeps the last success figures."""
    values: dict[str, float] = {}
    try:
        text = (directory / FILE_NAME).read_text()
    except OSError:
        return values
    for match in re.finditer(rf"^{PREFIX}_(\w+)\{{[^}}]*\}} (\S+)$", text, re.MULTILINE):
        values[match.group(1)] = float(match.group(2))
    return values


def render(values: dict[str, float], host: str) -> str:
    lines = []
    for name, help_text in HELP.items():
        if name not in values:
            continue
        metric = f"{PREFIX}_{name}"
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge"]
        lines.append(f'{metric}{{host="{host}"}} {values[name]:.15g}')
    return "\n".join(lines) + "\n"


def write(directory: Path | None, host: str, values: dict[str, float]) -> None:
    """Merge new values over the previous file and replace it in one rename."""
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    merged = previous(directory) | values
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{FILE_NAME}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(render(merged, host))
        # node-exporter runs as its own user: the metric (no secrets in it) is world-readable.
        os.chmod(tmp, 0o644)
        os.replace(tmp, directory / FILE_NAME)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
