"""etcdctl and etcdutl: health, snapshots, membership and restore.

etcd 3.6 removed ``snapshot status`` and ``snapshot restore`` from etcdctl; they
live in etcdutl since 3.5. etcdutl is used when installed; etcdctl is the fallback
for a 3.5 host that lacks it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config
from .run import AgentError, last_line, run

# Kubernetes' recommendation for a restore: far above any revision a watcher saw.
BUMP_REVISION = 1_000_000_000


@dataclass(frozen=True)
class SnapshotStatus:
    hash: int
    revision: int
    total_keys: int
    total_size: int


@dataclass(frozen=True)
class Member:
    name: str
    peer_urls: list[str]
    client_urls: list[str]


class Etcd:
    """The etcd tools, pointed at the cluster's endpoints with its client certificate."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def _etcdctl(self, endpoints: Sequence[str]) -> list[str]:
        argv = [
            self.config.tool("etcdctl"),
            f"--endpoints={','.join(endpoints)}",
            "--dial-timeout=5s",
        ]
        for flag in ("cacert", "cert", "key"):
            if getattr(self.config, flag):
                argv.append(f"--{flag}={getattr(self.config, flag)}")
        return argv

    def ctl(self, endpoints: Sequence[str], *args: str, wait: int = 0) -> Any:
        """Run etcdctl against the endpoints and return its JSON answer.

        ``wait`` bounds each request (default: the configured command timeout); a
        member that is down costs that long, so probes pass a short one.
        """
        wait = wait or self.config.command_timeout
        argv = [*self._etcdctl(endpoints), f"--command-timeout={wait}s"]
        done = run([*argv, *args, "-w", "json"], env={"ETCDCTL_API": "3"}, timeout=wait + 30)
        if done.returncode != 0 and not done.stdout.strip():
            raise AgentError(
                f"etcdctl {args[0]} {args[1] if len(args) > 1 else ''} failed: "
                f"{last_line(done.stderr)}"
            )
        return json.loads(done.stdout)

    def healthy_endpoint(self) -> tuple[str, str]:
        """The first healthy member in the configured order (the local one comes first)."""
        # etcdctl probes the endpoints in parallel; a dead one costs the short wait once.
        answers = self.ctl(self.config.endpoints, "endpoint", "health", wait=5)
        healthy = {a["endpoint"] for a in answers if a.get("health")}
        for endpoint in self.config.endpoints:
            if endpoint in healthy:
                status = self.ctl([endpoint], "endpoint", "status")
                return endpoint, str(status[0]["Status"]["version"])
        errors = "; ".join(f"{a['endpoint']}: {a.get('error', 'unhealthy')}" for a in answers)
        raise AgentError(f"no etcd member is healthy, so no backup was taken ({errors}).")

    def snapshot_save(self, endpoint: str, path: Path) -> None:
        argv = [*self._etcdctl([endpoint]), "snapshot", "save", str(path)]
        done = run(argv, env={"ETCDCTL_API": "3"}, timeout=1800)
        if done.returncode != 0:
            raise AgentError(
                f"etcdctl snapshot save from {endpoint} failed: {last_line(done.stderr)}"
            )

    def members(self, endpoint: str) -> list[Member]:
        answer = self.ctl([endpoint], "member", "list")
        return [
            Member(m.get("name", ""), list(m.get("peerURLs", [])), list(m.get("clientURLs", [])))
            for m in answer.get("members", [])
        ]

    def key_count(self, endpoint: str, revision: int = 0) -> int:
        """Live keys (at a revision, when given): the figure a restore drill compares."""
        # The range answer's count covers the whole range whatever the limit; --count-only
        # would be shorter but etcdctl 3.5.1 refuses it with JSON output.
        args = ["get", "", "--prefix", "--keys-only", "--limit=1"]
        if revision:
            args.append(f"--rev={revision}")
        return int(self.ctl([endpoint], *args).get("count", 0))

    def hashkv(self, endpoint: str, revision: int = 0) -> int:
        args = ["endpoint", "hashkv"] + ([f"--rev={revision}"] if revision else [])
        return int(self.ctl([endpoint], *args)[0]["HashKV"]["hash"])

    def revision(self, endpoint: str, wait: int = 0) -> int:
        status = self.ctl([endpoint], "endpoint", "status", wait=wait)
        return int(status[0]["Status"]["header"]["revision"])

    def util(self) -> str:
        """etcdutl when the host has it, else etcdctl (3.5 only)."""
        for name in ("etcdutl", "etcdctl"):
            tool = self.config.tool(name)
            if Path(tool).is_absolute() or shutil.which(tool):
                return tool
        raise AgentError("neither etcdutl nor etcdctl is installed; apply the etcd_backup role.")

    def snapshot_status(self, path: Path) -> SnapshotStatus:
        """Reads the whole file: a truncated or corrupted snapshot fails here."""
        done = run([self.util(), "snapshot", "status", str(path), "-w", "json"], timeout=600)
        if done.returncode != 0:
            raise AgentError(f"the snapshot {path.name} is damaged: {last_line(done.stderr)}")
        raw = json.loads(done.stdout)
        return SnapshotStatus(
            int(raw["hash"]), int(raw["revision"]), int(raw["totalKey"]), int(raw["totalSize"])
        )

    def supports_bump(self) -> bool:
        """etcdutl >= 3.5.10 can bump the revision and mark it compacted on restore."""
        done = run([self.util(), "snapshot", "restore", "--help"], timeout=30)
        text = done.stdout + done.stderr
        return "--bump-revision" in text and "--mark-compacted" in text

    def restore(
        self,
        snapshot: Path,
        data_dir: Path,
        *,
        name: str,
        initial_cluster: str,
        peer_urls: str,
        token: str,
        bump: bool,
    ) -> None:
        argv = [
            self.util(),
            "snapshot",
            "restore",
            str(snapshot),
            f"--data-dir={data_dir}",
            f"--name={name}",
            f"--initial-cluster={initial_cluster}",
            f"--initial-cluster-token={token}",
            f"--initial-advertise-peer-urls={peer_urls}",
        ]
        if bump:
            argv += [f"--bump-revision={BUMP_REVISION}", "--mark-compacted"]
        done = run(argv, timeout=1800)
        if done.returncode != 0:
            raise AgentError(f"etcdutl snapshot restore failed: {last_line(done.stderr)}")
