"""The release is consistent, and the upgrade scenarios find it the way CI's clone can.

pyproject.toml's version is ``kubeprimer.__version__``; CHANGELOG.md (Keep a Changelog)
has ``## [Unreleased]`` and a dated section per release that names its release commit;
the ``v<version>`` tag, where the clone has it, points at that commit.
kubeprimer/lab/release.py resolves the previous release by its tag, else by the commit
the changelog names (CI clones main without tags), and exports its tree.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

import kubeprimer
from kubeprimer.errors import UserError
from kubeprimer.lab import release
from kubeprimer.paths import ROOT

CHANGELOG = (ROOT / "CHANGELOG.md").read_text()


def test_pyproject_version_is_the_package_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == kubeprimer.__version__


def test_changelog_has_an_unreleased_section_first() -> None:
    sections = [line for line in CHANGELOG.splitlines() if line.startswith("## ")]
    assert sections, "CHANGELOG.md has no '## ' section"
    assert sections[0] == "## [Unreleased]"
    malformed = [
        s for s in sections[1:] if not re.fullmatch(r"## \[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", s)
    ]
    assert not malformed, f"sections not in the '## [X.Y.Z] - YYYY-MM-DD' form: {malformed}"


def test_every_release_names_its_commit_and_the_tree_is_past_the_newest() -> None:
    entries = release.entries(CHANGELOG)
    assert entries, "CHANGELOG.md names no release"
    unnamed = [e.version for e in entries if not e.commit]
    assert not unnamed, f"releases whose section names no release commit: {unnamed}"
    versions = [tuple(int(p) for p in e.version.split(".")) for e in entries]
    assert versions == sorted(versions, reverse=True), "releases are not newest first"
    dates = [e.date for e in entries]
    assert dates == sorted(dates, reverse=True)
    # The tree after a release is the next version's development tree, never the release.
    current = re.match(r"\d+\.\d+\.\d+", kubeprimer.__version__)
    assert current is not None
    assert tuple(int(p) for p in current[0].split(".")) > versions[0]
    assert kubeprimer.__version__ != entries[0].version


def test_each_release_commit_is_in_the_clone_and_its_tag_points_at_it() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for entry in release.entries(CHANGELOG):
        commit = _git(ROOT, "rev-parse", "--verify", "--quiet", f"{entry.commit}^{{commit}}")
        tagged = release.tag_commit(entry.version)
        if not commit:
            # A shallow clone may lack old history; then the tag must not be there either
            # (it would point at a commit the changelog does not name).
            assert tagged is None, f"v{entry.version} is here but {entry.commit} is not"
            continue
        if tagged is not None:
            assert tagged == commit, f"v{entry.version} points at {tagged}, not {entry.commit}"
        # The release's version is in its own tree.
        pyproject = _git(ROOT, "show", f"{commit}:pyproject.toml")
        assert pyproject is not None
        assert tomllib.loads(pyproject)["project"]["version"] == entry.version


def test_entries_read_keep_a_changelog() -> None:
    text = (
        "# Changelog\n\n## [Unreleased]\n\n- next\n\n"
        "## [1.2.0] - 2027-01-02\n\nRelease commit `abcdef1`, tagged `v1.2.0`.\n\n"
        "### Added\n\n- a line that quotes release commit `0000000` later\n\n"
        "## [1.1.0] - 2026-12-01\n\n- no commit named\n"
    )
    assert release.entries(text) == [
        release.Entry("1.2.0", "2027-01-02", "abcdef1"),
        release.Entry("1.1.0", "2026-12-01", ""),
    ]


def _git(root: Path, *args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


@pytest.fixture
def clone(tmp_path: Path) -> tuple[Path, str]:
    """A repository whose first commit is release 0.1.0 with a role, and a later one."""
    repo = tmp_path / "repo"
    (repo / "roles/demo/molecule/default").mkdir(parents=True)
    for args in (["init", "-q"], ["config", "user.email", "t@example.org"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    subprocess.run(["git", "config", "user.name", "t"], cwd=repo, check=True)
    (repo / "roles/demo/molecule/default/converge.yml").write_text("--- # release\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "release"], cwd=repo, check=True)
    commit = _git(repo, "rev-parse", "HEAD")
    assert commit
    (repo / "roles/demo/molecule/default/converge.yml").write_text("--- # after\n")
    (repo / "CHANGELOG.md").write_text(
        f"## [Unreleased]\n\n## [0.1.0] - 2026-11-30\n\nRelease commit `{commit[:7]}`.\n"
    )
    subprocess.run(["git", "commit", "-qam", "after"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "changelog"], cwd=repo, check=True)
    return repo, commit


def test_without_the_tag_the_changelog_commit_is_the_release(clone: tuple[Path, str]) -> None:
    repo, commit = clone
    assert release.previous(repo) == release.Release("0.1.0", commit, None)


def test_the_tag_wins_when_the_clone_has_it(clone: tuple[Path, str]) -> None:
    repo, commit = clone
    subprocess.run(["git", "tag", "-a", "v0.1.0", "-m", "0.1.0", commit], cwd=repo, check=True)
    assert release.previous(repo) == release.Release("0.1.0", commit, "v0.1.0")


def test_a_clone_without_the_release_commit_says_what_to_fetch(clone: tuple[Path, str]) -> None:
    repo, _ = clone
    (repo / "CHANGELOG.md").write_text(
        "## [Unreleased]\n\n## [0.1.0] - 2026-11-30\n\nRelease commit `1234567`.\n"
    )
    with pytest.raises(UserError, match=r"commit 1234567 is not in this clone.*unshallow"):
        release.previous(repo)


def test_export_holds_the_release_files_not_the_checkouts(
    clone: tuple[Path, str], tmp_path: Path
) -> None:
    repo, commit = clone
    found = release.previous(repo)
    tree = release.export(found, repo, tmp_path / "cache")
    assert tree.name == f"0.1.0-{commit[:12]}"
    converge = tree / "roles/demo/molecule/default/converge.yml"
    assert converge.read_text() == "--- # release\n"
    # Exported once: a second call reuses the folder and leaves no scratch copy behind.
    assert release.export(found, repo, tmp_path / "cache") == tree
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [tree.name]
    assert release.playbooks(tree, "demo") == [converge]
    with pytest.raises(UserError, match="kubeprimer_previous_playbooks"):
        release.playbooks(tree, "other")


def test_the_releases_roles_and_modules_run_against_the_scenario_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(release.EPHEMERAL_ENV, str(tmp_path / "work"))
    monkeypatch.setenv("ANSIBLE_ROLES_PATH", "/checkout/roles")
    tree = tmp_path / "tree"
    argv, env = release.converge_command(
        tree, tree / "p.yml", tmp_path / "inventory", tmp_path / "vars.json"
    )
    assert argv[1:] == [
        "--inventory",
        str(tmp_path / "inventory"),
        "--extra-vars",
        f"@{tmp_path / 'vars.json'}",
        str(tree / "p.yml"),
    ]
    assert env["ANSIBLE_ROLES_PATH"] == str(tree / "roles")
    assert env["ANSIBLE_LIBRARY"] == str(tree / "plugins/modules")
    assert env[release.EPHEMERAL_ENV] == str(tmp_path / "work/previous-release")


def test_this_checkouts_previous_release_exports_every_role_scenario(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    found = release.previous()
    tree = release.export(found, cache=tmp_path)
    for scenario in ROOT.glob("roles/*/molecule/upgrade"):
        role = scenario.parent.parent.name
        assert release.playbooks(tree, role), role


def test_every_upgrade_scenario_converges_the_previous_release_through_the_shared_play() -> None:
    """One mechanism, no copy per role: each upgrade scenario's prepare.yml imports
    .config/molecule/previous_release.yml, and the scenario verifies something."""
    import yaml

    shared = ROOT / ".config/molecule/previous_release.yml"
    scenarios = sorted(ROOT.glob("roles/*/molecule/upgrade"))
    assert scenarios, "no role has an upgrade scenario"
    for scenario in scenarios:
        plays = yaml.safe_load((scenario / "prepare.yml").read_text())
        imported = [
            (scenario / play["ansible.builtin.import_playbook"]).resolve()
            for play in plays
            if "ansible.builtin.import_playbook" in play
        ]
        assert shared in imported, f"{scenario}/prepare.yml does not import {shared.name}"
        assert (scenario / "verify.yml").is_file(), f"{scenario} verifies nothing"
