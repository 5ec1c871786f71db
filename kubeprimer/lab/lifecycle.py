"""lab up, status and down: the steps in order, each safe to repeat.

``up`` converges: every step checks before it acts, so a second run changes nothing
and a run after a crash finishes the lab. When ``up`` fails on a lab it was creating,
it removes everything it made; a failure on an existing lab leaves it for a re-run.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path

from kubeprimer.errors import UserError
from kubeprimer.lab import host, image, inventory, node, plan, proxy, state, user
from kubeprimer.lab.config import RELEASES, LabConfig
from kubeprimer.lab.plan import LabPlan


@dataclass(frozen=True)
class NodeStatus:
    name: str
    address: str
    groups: tuple[str, ...]
    state: str
    memory: int | None
    # The Debian release (bookworm, trixie), as --os names it.
    os: str = ""


@dataclass(frozen=True)
class LabStatus:
    plan: LabPlan
    nodes: list[NodeStatus]
    key: Path
    known_hosts: Path
    inventory: Path | None

    def ssh_argv(self, address: str) -> list[str]:
        """ssh as root to a node, checking its host key against the lab's known_hosts."""
        return [
            "ssh",
            "-i",
            str(self.key),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "LogLevel=ERROR",
            f"root@{address}",
        ]


def _plan(cfg: LabConfig, record: state.LabRecord) -> LabPlan:
    supernet = plan.supernet_of(record.supernet)
    return LabPlan(
        name=record.name,
        size=record.size,
        subnet=plan.subnet_of(supernet, record.slot),
        proxy=plan.proxy_address(supernet),
        proxy_port=cfg.proxy_port,
        hostnames=tuple(record.hostnames or ()),
        user=record.user,
        releases=tuple(record.node_releases()),
    )


def up(
    cfg: LabConfig,
    name: str,
    size: int,
    inventory_dir: Path | None = None,
    hostnames: list[str] | None = None,
    user_name: str | None = None,
    releases: list[str] | None = None,
) -> LabStatus:
    """Bring lab ``name`` up with ``size`` nodes; a no-op when it already runs so.

    ``inventory_dir`` defaults to inventories/lab/ (inventories/lab/<name>/ for other
    names); ``hostnames`` (one per node) replace the nodes' own hostnames, e.g. with a
    Molecule scenario's platforms. ``user_name`` is the account the inventory connects
    as: root by default, else a user made on every node with passwordless sudo; a
    re-run without it keeps the lab's. ``releases`` are the Debian releases nodes take
    in turn (``--os``): ``lab_suite`` for every node by default; a re-run without it
    keeps the lab's.
    """
    plan.check_name(name)
    plan.check_size(size, cfg.max_nodes)
    if user_name is not None:
        plan.check_user(user_name)
    if hostnames is not None:
        plan.check_hostnames(hostnames, size)
    asked = None if releases is None else plan.node_releases(releases, size, RELEASES)
    supernet = plan.supernet_of(cfg.supernet)
    host.check_host()
    dirs = state.LabDirs(cfg.state_dir, name)
    with state.locked(cfg.state_dir):
        record = state.load(dirs)
        if record and record.size != size:
            raise UserError(
                f"Lab {name} already has {record.size} nodes; run `invoke lab.down --name {name}` "
                f"before asking for {size}."
            )
        if record and user_name is not None and record.user != user_name:
            raise UserError(
                f"Lab {name} connects as {record.user}; run `invoke lab.down --name {name}` "
                f"before asking for user {user_name}, or leave out --user."
            )
        if record and asked is not None:
            _check_same_releases(record, asked)
        if record is None:
            others = {r.slot for n, r in state.all_labs(cfg.state_dir).items() if n != name}
            slot = plan.choose_slot(name, supernet, others)
        else:
            slot = record.slot
        if record and record.inventory:
            inv_dir = Path(record.inventory)  # a re-run keeps the lab where it was
        else:
            inv_dir = inventory_dir or inventory.default_dir(name, cfg.name)
        if asked is None:
            asked = plan.node_releases([cfg.suite], size, RELEASES)
        wanted = state.LabRecord(
            name,
            size,
            slot,
            cfg.supernet,
            str(inv_dir),
            "",
            hostnames,
            user_name or plan.ROOT_USER,
            os=list(asked),
        )
        lab = _plan(cfg, record or wanted)
        # Our own bridge and the proxy's /32 on lo are the only networks the lab may meet.
        host.check_free(lab.subnet, {lab.bridge}, f"lab {name}'s subnet")
        host.check_free(plan.subnet_of(supernet, plan.PROXY_SLOT), {"lo"}, "package proxy")
        roots = _images(cfg, record, lab)
        if record is None and lab.user != plan.ROOT_USER:
            for root in roots.values():
                if user.exists(root, lab.user):
                    raise UserError(
                        f"User {lab.user} is already an account of the node image; "
                        "pick another --user."
                    )
        images = {release: str(root) for release, root in roots.items()}
        try:
            state.save(
                dirs,
                dataclasses.replace(
                    record or wanted,
                    image=images[lab.releases[0]],
                    images=images,
                    os=list(lab.releases),
                ),
            )
            _converge(cfg, dirs, lab, roots, inv_dir)
        except BaseException:
            if record is None:
                _down(cfg, dirs)
            raise
    return status(cfg, name)


def _check_same_releases(record: state.LabRecord, asked: tuple[str, ...]) -> None:
    """A node's release is fixed when it is made: say which differ, never rebuild them."""
    now = record.node_releases()
    nodes = [f"{record.name}-{i}" for i in range(1, record.size + 1)]
    differ = [n for n, a, b in zip(nodes, now, asked, strict=True) if a != b]
    if differ:
        running = ", ".join(f"{r} on {n}" for n, r in zip(nodes, now, strict=True))
        raise UserError(
            f"Lab {record.name} runs {running}, and --os asks for another release on "
            f"{', '.join(differ)}; run `invoke lab.down --name {record.name}` first to make "
            "the nodes again, or leave out --os."
        )


def _images(cfg: LabConfig, record: state.LabRecord | None, lab: LabPlan) -> dict[str, Path]:
    """The image of each release the lab's nodes run: nodes keep the one they were made
    from; a release without one gets the cached image, built first when missing."""
    kept = {r: Path(p) for r, p in (record.release_images() if record else {}).items()}
    roots = {r: kept[r] for r in lab.releases if r in kept and kept[r].is_dir()}
    missing = [r for r in dict.fromkeys(lab.releases) if r not in roots]
    if missing:
        # The image cache is shared by labs of every state directory.
        with state.locked(cfg.cache_dir):
            for release in missing:
                roots[release] = image.ensure_image(cfg.cache_dir, cfg.mirror, release)
            image.prune(cfg.cache_dir, keep=_current_images(cfg))
    return roots


def _current_images(cfg: LabConfig) -> list[Path]:
    """Each release's image for today's recipe: the ones a prune keeps."""
    return [
        image.rootfs(cfg.cache_dir, image.image_key(cfg.mirror, release)) for release in RELEASES
    ]


def _converge(
    cfg: LabConfig, dirs: state.LabDirs, lab: LabPlan, roots: dict[str, Path], inv: Path
) -> None:
    if not dirs.key.exists():
        host.run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                f"kubeprimer-lab-{lab.name}",
                "-f",
                str(dirs.key),
            ],
            what="make the lab's SSH key",
        )
    dirs.key.chmod(0o600)
    host.raise_kernel_limits()
    if not host.link_exists(lab.bridge):
        host.run(["ip", "link", "add", lab.bridge, "type", "bridge"], what="add the lab bridge")
    host.run(
        ["ip", "addr", "replace", f"{lab.gateway}/{lab.subnet.prefixlen}", "dev", lab.bridge],
        what="address the lab bridge",
    )
    host.run(["ip", "link", "set", lab.bridge, "up"], what="bring the lab bridge up")
    proxy.ensure(cfg.state_dir, cfg.cache_dir, lab.proxy, lab.proxy_port)
    pubkey = dirs.key.with_suffix(".pub").read_text()
    alive = node.running(dirs)
    node.kill_orphans(lab.name, keep=alive)
    started = {}
    for n in lab.nodes:
        node.prepare(dirs, lab, n, roots[n.release], pubkey)
        if lab.user != plan.ROOT_USER:
            user.ensure(node.root_dir(dirs, n.name), lab.user, pubkey)
        if n.name not in alive:
            started[n] = node.start(dirs, lab, n)
    dirs.known_hosts.write_text("".join(node.host_key_line(dirs, n) for n in lab.nodes))
    node.wait_booted(dirs, started, cfg.boot_timeout)
    inventory.write(inv, lab, dirs.key, dirs.known_hosts)


def down(cfg: LabConfig, name: str) -> bool:
    """Remove lab ``name`` and everything it made; False when there was nothing."""
    plan.check_name(name)
    host.check_host()
    dirs = state.LabDirs(cfg.state_dir, name)
    with state.locked(cfg.state_dir):
        if not dirs.root.exists() and not host.link_exists(f"kpbr-{name}"):
            return False
        _down(cfg, dirs)
    return True


def _down(cfg: LabConfig, dirs: state.LabDirs) -> None:
    name = dirs.root.name
    record = state.load(dirs)
    node.stop(node.running(dirs).values())
    node.kill_orphans(name)
    for home in (dirs.root / "nodes").glob("*"):
        node.forget(home.name)
    for point in node.mounts_under(dirs.root):
        host.run(["umount", "--lazy", str(point)], what=f"unmount {point}")
    node.remove_cgroups(name)
    bridge = f"kpbr-{name}"
    if host.link_exists(bridge):
        host.run(["ip", "link", "del", bridge], what="remove the lab bridge")
    if record and record.inventory:
        inventory.remove(Path(record.inventory))
    shutil.rmtree(dirs.root, ignore_errors=True)
    if not state.all_labs(cfg.state_dir):
        supernet = record.supernet if record else cfg.supernet
        proxy.stop(cfg.state_dir, plan.proxy_address(plan.supernet_of(supernet)))


def status(cfg: LabConfig, name: str) -> LabStatus:
    plan.check_name(name)
    dirs = state.LabDirs(cfg.state_dir, name)
    record = state.load(dirs)
    if record is None:
        raise UserError(f"Lab {name} is not up; start it with `invoke lab.up --name {name}`.")
    lab = _plan(cfg, record)
    alive = node.running(dirs)
    nodes = []
    for n in lab.nodes:
        pid = alive.get(n.name)
        if pid is None:
            current = "stopped"
        elif not node.ssh_answers(str(n.address)):
            current = "booting"
        else:
            current = node.system_state(pid)
        nodes.append(
            NodeStatus(
                n.name,
                str(n.address),
                n.groups,
                current,
                node.memory_bytes(name, n.name),
                n.release,
            )
        )
    inv = Path(record.inventory) / "hosts.yml" if record.inventory else None
    return LabStatus(lab, nodes, dirs.key, dirs.known_hosts, inv)


def labs(cfg: LabConfig) -> list[str]:
    return sorted(state.all_labs(cfg.state_dir))
