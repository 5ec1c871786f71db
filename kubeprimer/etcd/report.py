"""Showing backups and drill results to a person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubeprimer.output import Listing


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def local_time(stamp: str) -> str:
    """restic's RFC 3339 time in the controller's zone, to the second."""
    from kubeprimer.etcd.agent.restic import parse_time

    return datetime.fromtimestamp(parse_time(stamp)).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def backups_table(entries: list[dict[str, Any]]) -> Listing:
    table = Listing(
        ("ID", "time", "size", "revision", "keys", "host", "etcd"),
        title=f"etcd backups ({len(entries)})",
        right=("size", "revision", "keys"),
    )
    for entry in entries:
        table.add(
            entry["short_id"],
            local_time(entry["time"]),
            human_size(int(entry["size"])),
            str(entry["revision"]),
            str(entry["keys"]),
            entry["host"],
            entry.get("etcd_version", ""),
        )
    return table


def drill_summary(result: dict[str, Any]) -> str:
    return (
        f"Restore drill passed for backup {result['short_id']}: revision {result['revision']}, "
        f"{result['keys']} keys, hash {result['hash']} (etcd {result['etcd_version']}); "
        f"drill time {result['drill_seconds']:.1f} s."
    )


def health_lines(status: dict[str, Any], inventory_option: str = "") -> list[str]:
    """The last repository check and restore drill, one line each, failures first in words.

    ``inventory_option`` (" -i PATH" or empty) completes the command a line suggests.
    """
    lines = []
    for kind, name, every in (
        ("check", "Repository check", "daily"),
        ("drill", "Restore drill", "weekly"),
    ):
        last = status.get(kind)
        if not last:
            lines.append(
                f"{name}: never run on this member; schedule it with "
                f"'invoke etcd.schedule --{kind} {every}{inventory_option}'."
            )
            continue
        when = (
            datetime.fromtimestamp(float(last["at"])).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        )
        if last.get("ok"):
            lines.append(f"{name}: passed at {when}.")
        else:
            lines.append(f"{name}: FAILED at {when}: {last.get('error', 'no detail')}")
    return lines
