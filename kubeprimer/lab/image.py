"""The node image: a Debian root file system built once with debootstrap and cached.

Nodes never change the image: each node is an overlay whose lower layer is the image,
so booting a node copies nothing and every node shares the image's page cache. The
cache key covers everything that goes into the image, so a change of recipe builds a
new image instead of silently reusing an old one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from kubeprimer.lab.host import run

PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-apt",
    "openssh-server",
    "iproute2",
    "procps",
    "sudo",
    "ca-certificates",
)

# Units that cost memory or time and do nothing useful on a lab node.
MASKED = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "getty@tty1.service",
    "console-getty.service",
    "systemd-pstore.service",
    # Nodes share the host's kernel and have no /lib/modules: on trixie the unit fails
    # (libkmod finds no modules), leaving every node "degraded". node_prep loads modules
    # on real hosts; built-in ones count as loaded.
    "systemd-modules-load.service",
)

# PID 1 of a node is this script, which then becomes systemd. Doing these two things
# before systemd starts avoids races with the units systemd starts in parallel:
# - systemd-nspawn mounts the host's cgroup v1 controllers read-only, but containerd
#   and kubelet must create cgroups: remount each writable (unmount and mount again
#   where a remount is refused);
# - with the writable /sys that nested containers need, systemd-networkd leaves host0
#   pending forever (it waits for udev), so the address is set here.
INIT_SCRIPT = """\
#!/bin/sh
awk '$3 == "cgroup" && $4 ~ /(^|,)ro(,|$)/ {print $2, $4}' /proc/self/mounts |
while read -r dir opts; do
  mount -o remount,bind,rw "$dir" 2>/dev/null && continue
  controllers=$(echo "$opts" | tr , '\\n' |
    grep -vE '^(ro|rw|nosuid|nodev|noexec|relatime|xattr|name=.*)$' | paste -sd, -)
  [ -n "$controllers" ] && umount "$dir" && mount -t cgroup -o "$controllers" cgroup "$dir"
done
. /etc/kubeprimer-lab/network.env
ip link set lo up
ip link set host0 up
ip addr replace "$ADDRESS" dev host0
ip route replace default via "$GATEWAY"
exec /sbin/init "$@"
"""
INIT = "/usr/local/sbin/kubeprimer-lab-init"

JOURNALD = """\
[Journal]
Storage=volatile
RuntimeMaxUse=16M
"""

# Lab nodes are disposable: dpkg need not fsync every file it unpacks (on a busy host
# that, not the download, dominates package installs), nor unpack man pages and
# translations nobody reads there.
DPKG = """\
force-unsafe-io
path-exclude=/usr/share/man/*
path-exclude=/usr/share/locale/*
"""

SSHD = """\
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
UseDNS no
"""


def image_files(mirror: str, suite: str) -> dict[str, str]:
    """Files written into the image, by path inside it."""
    security = mirror.replace("/debian", "/debian-security") if mirror.endswith("/debian") else ""
    sources = f"deb {mirror} {suite} main\ndeb {mirror} {suite}-updates main\n"
    if security:
        sources += f"deb {security} {suite}-security main\n"
    return {
        "etc/apt/sources.list": sources,
        "usr/local/sbin/kubeprimer-lab-init": INIT_SCRIPT,
        "etc/systemd/journald.conf.d/kubeprimer-lab.conf": JOURNALD,
        "etc/ssh/sshd_config.d/kubeprimer-lab.conf": SSHD,
        "etc/dpkg/dpkg.cfg.d/kubeprimer-lab": DPKG,
    }


def image_key(mirror: str, suite: str) -> str:
    recipe = {
        "suite": suite,
        "mirror": mirror,
        "packages": PACKAGES,
        "masked": MASKED,
        "files": image_files(mirror, suite),
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
    return f"{suite}-{digest[:12]}"


def rootfs(cache_dir: Path, key: str) -> Path:
    return cache_dir / "images" / key / "rootfs"


def ensure_image(cache_dir: Path, mirror: str, suite: str) -> Path:
    """The cached image's root file system, built first if missing (about a minute)."""
    key = image_key(mirror, suite)
    final = cache_dir / "images" / key
    if (final / "complete").exists():
        return final / "rootfs"
    work = cache_dir / "images" / f".{key}.building"
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(final, ignore_errors=True)
    root = work / "rootfs"
    debs = cache_dir / "debootstrap"
    debs.mkdir(parents=True, exist_ok=True)
    print(f"lab: building the node image {key} with debootstrap (once; about a minute)")
    started = time.monotonic()
    run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            f"--cache-dir={debs}",
            suite,
            str(root),
            mirror,
        ],
        what=f"build the node image from {mirror} (debootstrap)",
        timeout=900,
    )
    _customise(root, image_files(mirror, suite))
    # Package lists in the image let roles install without an update first.
    run(["chroot", str(root), "apt-get", "update", "-qq"], what="update the image's package lists")
    run(["chroot", str(root), "apt-get", "clean"], what="clean the image's package cache")
    (work / "complete").write_text(f"built in {time.monotonic() - started:.0f} s\n")
    work.rename(final)
    return final / "rootfs"


def _customise(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755 if rel.startswith("usr/local/sbin/") else 0o644)
    for unit in MASKED:
        mask = root / "etc/systemd/system" / unit
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")
    # Per-node identity is written when a node is made, never shared through the image.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/machine-id").write_text("")
    (root / "etc/hostname").unlink(missing_ok=True)


def prune(cache_dir: Path, keep: Iterable[Path]) -> None:
    """Remove images (a few hundred MB each) that no mounted node uses any more.

    ``keep`` holds the current image of every release the lab boots: a lab of one
    release must not remove the other's, or labs of both would rebuild in turn.
    Mounts, not lab records, say what is in use: labs kept in other state
    directories share this cache.
    """
    kept = set(keep)
    with open("/proc/self/mounts") as f:
        mounted = f.read()
    for old in (cache_dir / "images").glob("*/rootfs"):
        if (
            old not in kept
            and not old.parent.name.startswith(".")
            and f"lowerdir={old}," not in mounted
        ):
            shutil.rmtree(old.parent, ignore_errors=True)
