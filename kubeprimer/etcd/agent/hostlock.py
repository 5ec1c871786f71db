"""One backup, check or drill at a time on a host: the others wait their turn.

Across hosts, restic's own locks keep them apart (check and prune take exclusive locks).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .run import AgentError

POLL_SECONDS = 1.0


@contextmanager
def exclusive(state_dir: Path, wait_seconds: float) -> Iterator[None]:
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    with open(state_dir / "backup.lock", "w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise AgentError(
                        "another backup, check or drill is running on this host; "
                        "wait for it to end."
                    ) from None
                time.sleep(POLL_SECONDS)
        yield
