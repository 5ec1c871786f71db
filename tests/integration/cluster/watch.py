"""Samples the command line of every process on the machine while a playbook runs,
so a test can show that no secret was ever an argument of any process."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType


class ProcessWatch:
    """Context manager: ``seen`` holds every distinct command line observed."""

    def __init__(self, interval: float = 0.02, enabled: bool = True) -> None:
        self.interval = interval
        self.enabled = enabled
        self.seen: set[str] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    raw = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if raw:
                    self.seen.add(raw.replace(b"\0", b" ").decode(errors="replace"))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> ProcessWatch:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self.enabled:
            self._thread.join()
