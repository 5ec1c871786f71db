"""One lab node: an overlay root file system, its identity, and a systemd-nspawn process.

A node is found by the ``-D`` directory on its systemd-nspawn command line rather than
by a pid file, so a lab that died half-way (or a pid file that was never written) can
still be found and stopped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from kubeprimer.lab import image
from kubeprimer.lab.host import LabFailure, run, wait_gone
from kubeprimer.lab.plan import LabPlan, Node
from kubeprimer.lab.state import LabDirs

NSPAWN = "systemd-nspawn"
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "kubeprimer-lab"
INIT = image.INIT
KMSG = Path("/dev/kmsg")
KMSG_DEVICE = os.makedev(1, 11)  # the kernel's fixed number for /dev/kmsg


def _cgroup_v2() -> bool:
    return (CGROUP_ROOT / "cgroup.controllers").exists()


def _hierarchies() -> list[Path]:
    """Every cgroup hierarchy mounted under /sys/fs/cgroup, memory first.

    On a cgroup v1 (or hybrid) host a node must have its own cgroup in every
    hierarchy, not only the ones we account with: the node's cgroup namespace is
    rooted where its systemd-nspawn started, so in any hierarchy we leave out all
    nodes share one root, and their systemds create and remove the same
    ``/system.slice/UNIT`` cgroups there. Nodes booting at the same time then fail
    units with status 219/CGROUP.
    """
    if _cgroup_v2():
        return [CGROUP_ROOT]
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            _, point, kind = line.split()[:3]
            if kind in ("cgroup", "cgroup2") and Path(point).parent == CGROUP_ROOT:
                found.append(Path(point))
    # memory first: it lists every process of a node and has its usage figures.
    return sorted(found, key=lambda p: p.name != "memory")


def _tail(lab: str, node: str | None) -> Path:
    return Path(CGROUP_PARENT, lab, node) if node else Path(CGROUP_PARENT, lab)


def cgroup_dirs(lab: str, node: str | None = None) -> list[Path]:
    return [top / _tail(lab, node) for top in _hierarchies()]


def _make_cgroup(top: Path, tail: Path) -> Path:
    """Create ``top/tail`` level by level, giving v1 cpusets their parent's CPUs.

    A new v1 cpuset starts with no CPUs or memory nodes, and no process can join it
    until it has some.
    """
    group = top
    for part in tail.parts:
        parent, group = group, group / part
        group.mkdir(exist_ok=True)
        for knob in ("cpuset.cpus", "cpuset.mems"):
            if (group / knob).exists() and not (group / knob).read_text().strip():
                (group / knob).write_text((parent / knob).read_text())
    return group


def root_dir(dirs: LabDirs, node: str) -> Path:
    return dirs.node(node) / "root"


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below ``path``, deepest first (the order to unmount them)."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = Path(line.split()[4].replace("\\040", " "))
            if point == path or path in point.parents:
                found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def prepare(dirs: LabDirs, plan: LabPlan, node: Node, image: Path, pubkey: str) -> None:
    """Mount the node's overlay and give it its own identity (idempotent)."""
    home = dirs.node(node.name)
    root = root_dir(dirs, node.name)
    # The overlay's root takes the upper directory's mode: it must be 0755 like any "/".
    for sub, mode in (("upper", 0o755), ("work", 0o700), ("root", 0o755), ("containerd", 0o711)):
        (home / sub).mkdir(parents=True, exist_ok=True, mode=mode)
        (home / sub).chmod(mode)
    if root not in mounts_under(root):
        options = f"lowerdir={image},upperdir={home / 'upper'},workdir={home / 'work'}"
        run(["mount", "-t", "overlay", "overlay", "-o", options, str(root)], what="mount a node")
    hostkey = home / "ssh_host_ed25519_key"
    if not hostkey.exists():
        run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", node.name, "-f", str(hostkey)],
            what="make a node's SSH host key",
        )
    machine_id = root / "etc/machine-id"
    if not machine_id.read_text().strip():
        machine_id.write_text(uuid.uuid4().hex + "\n")
    hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n" + "".join(
        f"{n.address} {n.name}{'' if n.hostname == n.name else ' ' + n.hostname}\n"
        for n in plan.nodes
    )
    files = {
        "etc/hostname": (f"{node.hostname}\n", 0o644),
        "etc/hosts": (hosts, 0o644),
        # Nodes have no route out. The bridge address answers DNS with "port
        # unreachable", so lookups fail at once instead of timing out, and CoreDNS
        # (which forwards to the node's resolvers) never loops back to itself.
        "etc/resolv.conf": (f"nameserver {plan.gateway}\noptions timeout:1 attempts:1\n", 0o644),
        "etc/kubeprimer-lab/network.env": (
            f"ADDRESS={node.address}/{plan.subnet.prefixlen}\nGATEWAY={plan.gateway}\n",
            0o644,
        ),
        # Nodes have no route out: every download goes through the lab's package proxy.
        "etc/apt/apt.conf.d/01kubeprimer-lab-proxy": (
            f'Acquire::http::Proxy "{plan.proxy_url}";\n'
            f'Acquire::https::Proxy "{plan.proxy_url}";\n',
            0o644,
        ),
        "root/.ssh/authorized_keys": (pubkey, 0o600),
        "etc/ssh/ssh_host_ed25519_key": (hostkey.read_text(), 0o600),
        "etc/ssh/ssh_host_ed25519_key.pub": (hostkey.with_suffix(".pub").read_text(), 0o644),
    }
    for rel, (text, mode) in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if "/.ssh" in rel else 0o755)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        path.chmod(mode)


def host_key_line(dirs: LabDirs, node: Node) -> str:
    key = (dirs.node(node.name) / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    return f"{node.name},{node.address} {' '.join(key)}\n"


def running(dirs: LabDirs) -> dict[str, int]:
    """Node name -> pid of its systemd-nspawn, for every node of this lab that runs."""
    nodes_dir = dirs.root / "nodes"
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv or not argv[0].endswith(NSPAWN.encode()) or b"-D" not in argv:
            continue
        root = Path(argv[argv.index(b"-D") + 1].decode())
        if root.parent.parent == nodes_dir:
            found[root.parent.name] = int(proc.name)
    return found


def cgroup_pids(lab: str, node: str) -> set[int]:
    """Every process of a node, found by its cgroup (nested containers included)."""
    pids: set[int] = set()
    for top in cgroup_dirs(lab, node)[:1]:  # one hierarchy lists them all
        for procs in top.rglob("cgroup.procs") if top.exists() else []:
            with contextlib.suppress(OSError):
                pids |= {int(pid) for pid in procs.read_text().split()}
    return pids


def kill_orphans(lab: str, keep: Iterable[str] = ()) -> None:
    """SIGKILL what is left of nodes whose systemd-nspawn is gone.

    A node's PID 1 outlives a systemd-nspawn killed with SIGKILL, and keeps the node's
    address, veth and mounts; ending it ends its PID namespace and everything in it.
    """
    tops = cgroup_dirs(lab)[:1]
    names = [d.name for top in tops if top.exists() for d in top.iterdir() if d.is_dir()]
    orphans = {n: cgroup_pids(lab, n) for n in names if n not in set(keep)}
    for pids in orphans.values():
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(cgroup_pids(lab, n) for n in orphans):
        if time.monotonic() > deadline:
            raise LabFailure(f"Could not end what is left of nodes {', '.join(sorted(orphans))}.")
        time.sleep(0.05)


def kmsg_bind() -> list[str]:
    """The host's /dev/kmsg inside a node, where the host has one.

    kubelet's OOM watcher reads the kernel log and kubelet will not start without
    /dev/kmsg, which systemd-nspawn does not give a container (kind's node entrypoint
    links it to /dev/console when missing). Without it on the host, cluster.check
    names the problem.
    """
    return [f"--bind-ro={KMSG}"] if KMSG.exists() else []


def _deny_kmsg_writes(group: Path) -> None:
    """Nothing in a node may write into the host's kernel log (a read-only bind does not
    stop writes to a device). Only a cgroup v1 devices hierarchy can say so; kubelet reads.
    Without write access the node's journald also leaves the host's kernel log alone."""
    deny = group / "devices.deny"
    if deny.exists():
        deny.write_text(f"c {os.major(KMSG_DEVICE)}:{os.minor(KMSG_DEVICE)} w")


def start(dirs: LabDirs, plan: LabPlan, node: Node) -> subprocess.Popen[bytes]:
    """Boot the node in the background; the caller waits for it with ``wait_booted``."""
    home = dirs.node(node.name)
    groups = [_make_cgroup(top, _tail(plan.name, node.name)) for top in _hierarchies()]
    for group in groups:
        _deny_kmsg_writes(group)

    def enter_cgroups() -> None:
        for group in groups:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    cmd = [
        NSPAWN,
        # The host's PID 1 may not be systemd: nspawn must not ask it for a scope.
        "--register=no",
        "--keep-unit",
        "-D",
        str(root_dir(dirs, node.name)),
        f"--machine={node.name}",
        f"--network-bridge={plan.bridge}",
        # Nested containers (containerd, kubelet) need every capability and these
        # syscalls; CAP_SYS_TIME is dropped so no time daemon sets the host's clock.
        # NFS-Ganesha serves files by handle, which nspawn's default filter forbids.
        "--capability=all",
        "--drop-capability=CAP_SYS_TIME",
        "--system-call-filter=@keyring bpf open_by_handle_at",
        # containerd's overlayfs snapshotter cannot stack on the node's overlay root.
        f"--bind={home / 'containerd'}:/var/lib/containerd",
        *kmsg_bind(),
        "--resolv-conf=off",
        "--link-journal=no",
        "--console=passive",
        # Our init prepares cgroups and the address, then execs systemd; SIGTERM to
        # nspawn becomes systemd's orderly poweroff, as with --boot.
        "--kill-signal=SIGRTMIN+3",
        INIT,
    ]
    env = {**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "1"}
    with open(home / "console.log", "wb") as log:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            # preexec_fn is safe here: the lab code starts nodes from one thread only.
            preexec_fn=enter_cgroups,
        )


def ssh_answers(address: str) -> bool:
    """sshd accepted a connection and sent its banner: the node is up for Ansible."""
    try:
        with socket.create_connection((address, 22), timeout=0.3) as s:
            s.settimeout(1)
            return s.recv(4) == b"SSH-"
    except OSError:
        return False


def wait_booted(
    dirs: LabDirs, started: dict[Node, subprocess.Popen[bytes]], timeout: float
) -> None:
    pending = dict(started)
    deadline = time.monotonic() + timeout
    while pending:
        for node, proc in list(pending.items()):
            alive = proc.poll() is None  # also reaps a systemd-nspawn that gave up
            if alive and ssh_answers(str(node.address)):
                del pending[node]
            elif not alive:
                log = dirs.node(node.name) / "console.log"
                lines = log.read_text(errors="replace").strip().splitlines()
                last = lines[-1] if lines else "no output"
                raise LabFailure(f"Node {node.name} failed to boot ({last}); see {log}.")
        if pending and time.monotonic() > deadline:
            names = ", ".join(sorted(n.name for n in pending))
            raise LabFailure(
                f"Node {names} did not answer on SSH within {timeout:.0f} s; "
                f"see console.log under {dirs.root / 'nodes'}."
            )
        time.sleep(0.05)


def stop(pids: Iterable[int]) -> None:
    """Orderly shutdown (nspawn turns SIGTERM into a poweroff), SIGKILL after 10 s."""
    pids = list(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pid in pids:
        if not wait_gone(pid, NSPAWN, max(0.1, deadline - time.monotonic())):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_gone(pid, NSPAWN, 5)


def forget(node: str) -> None:
    """systemd-nspawn leaves a propagation directory behind when a node is killed."""
    shutil.rmtree(Path("/run/systemd/nspawn/propagate") / node, ignore_errors=True)


def remove_cgroups(lab: str) -> None:
    """Remove the lab's cgroups bottom-up, then the shared parent if it is empty."""
    for top in cgroup_dirs(lab):
        if not top.exists():
            continue
        tree = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for group in [*tree, top]:
            for _ in range(50):
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)  # the last processes are still being reaped
        with contextlib.suppress(OSError):
            top.parent.rmdir()


def memory_bytes(lab: str, node: str) -> int | None:
    """Working set of the node (usage minus reclaimable file cache), as kubelet counts it."""
    for group in cgroup_dirs(lab, node):
        usage = group / ("memory.current" if _cgroup_v2() else "memory.usage_in_bytes")
        if not usage.exists():
            continue
        stat = dict(line.split() for line in (group / "memory.stat").read_text().splitlines())
        inactive = stat.get("inactive_file") if _cgroup_v2() else stat.get("total_inactive_file")
        return max(0, int(usage.read_text()) - int(inactive or 0))
    return None


def system_state(pid: int) -> str:
    """systemd's own view inside the node (running, degraded, starting...)."""
    try:
        leader = int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return "starting"
    done = subprocess.run(
        ["nsenter", "-t", str(leader), "-m", "-p", "systemctl", "is-system-running"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return done.stdout.strip() or "unknown"
