"""The previous release's files, for the Molecule ``upgrade`` scenarios.

An upgrade scenario converges a role as the last release shipped it, then as the
checkout has it, on the same lab nodes. "As shipped" means the release's own files:
this module finds the release in CHANGELOG.md, resolves its commit (the ``v<version>``
tag, else the release commit the changelog names: CI clones carry no tags) and
exports that commit with ``git archive`` into ``.cache/releases/<version>-<commit>/``,
once. ``converge`` then runs playbooks of that tree (by default the role's own
default scenario of the release: its ``prepare.yml``, then ``converge.yml``) with the
release's roles and modules against the scenario's inventory. The shared plays in
``.config/molecule/previous_release/`` call it (docs/development.md, "Upgrade scenarios")::

    python -m kubeprimer.lab.release export
    python -m kubeprimer.lab.release converge --role ROLE --inventory DIR \\
        [--playbook PATH]... [--extra-vars FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kubeprimer.errors import UserError
from kubeprimer.paths import ROOT

CHANGELOG = ROOT / "CHANGELOG.md"
CACHE = ROOT / ".cache" / "releases"
EPHEMERAL_ENV = "MOLECULE_EPHEMERAL_DIRECTORY"
# "## [0.1.0] - 2026-11-30"; "## [Unreleased]" is not a release.
_SECTION = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<date>\d{4}-\d{2}-\d{2})\s*$")
_COMMIT = re.compile(r"[Rr]elease commit `(?P<commit>[0-9a-f]{7,40})`")


@dataclass(frozen=True)
class Entry:
    """One released version as CHANGELOG.md records it."""

    version: str
    date: str
    commit: str  # as the changelog spells it (often abbreviated); "" when not named


@dataclass(frozen=True)
class Release:
    """A release resolved in this clone: the full commit and the tag when present."""

    version: str
    commit: str
    tag: str | None

    @property
    def folder(self) -> str:
        return f"{self.version}-{self.commit[:12]}"


def entries(text: str) -> list[Entry]:
    """Every released version in a Keep a Changelog text, newest first, with the
    release commit named in its section (the first one in it)."""
    found: list[Entry] = []
    version = date = ""
    commit = ""
    for line in [*text.splitlines(), "## end"]:
        if line.startswith("## "):
            if version:
                found.append(Entry(version, date, commit))
            match = _SECTION.match(line)
            version, date = (match["version"], match["date"]) if match else ("", "")
            commit = ""
        elif version and not commit:
            named = _COMMIT.search(line)
            commit = named["commit"] if named else ""
    return found


def _git(*args: str, root: Path = ROOT) -> str | None:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def tag_commit(version: str, root: Path = ROOT) -> str | None:
    """The commit the tag ``v<version>`` points at, or None without the tag."""
    return _git("rev-parse", "--verify", "--quiet", f"refs/tags/v{version}^{{commit}}", root=root)


def previous(root: Path = ROOT, changelog: Path | None = None) -> Release:
    """The newest release in CHANGELOG.md, resolved to a commit of this clone."""
    text = (changelog or root / "CHANGELOG.md").read_text()
    released = entries(text)
    if not released:
        raise UserError(
            "CHANGELOG.md names no release (a '## [X.Y.Z] - YYYY-MM-DD' section); "
            "an upgrade scenario needs one to start from."
        )
    entry = released[0]
    tagged = tag_commit(entry.version, root)
    if tagged:
        return Release(entry.version, tagged, f"v{entry.version}")
    if not entry.commit:
        raise UserError(
            f"Release {entry.version} has no tag v{entry.version} in this clone and its "
            "CHANGELOG.md section names no release commit; fetch the tag "
            f"(git fetch origin tag v{entry.version})."
        )
    commit = _git("rev-parse", "--verify", "--quiet", f"{entry.commit}^{{commit}}", root=root)
    if not commit:
        raise UserError(
            f"Release {entry.version}'s commit {entry.commit} is not in this clone; fetch "
            f"the full history (git fetch --unshallow) or the tag (git fetch origin tag "
            f"v{entry.version})."
        )
    return Release(entry.version, commit, None)


def export(release: Release, root: Path = ROOT, cache: Path = CACHE) -> Path:
    """The release's tree under ``cache``, exported once with ``git archive``.

    Scenarios of several roles may start at the same moment: each extracts into its
    own temporary folder and renames it into place; a loser of that race drops its copy.
    """
    target = cache / release.folder
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{release.folder}.", dir=cache))
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", release.commit],
            cwd=root,
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive.stdout, check=True)
        try:
            scratch.rename(target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def playbooks(tree: Path, role: str, given: list[str] | None = None) -> list[Path]:
    """The playbooks to run, in order: by default the release's own default scenario of
    the role (its prepare.yml when it has one, then converge.yml); a relative path is
    taken inside the release's tree."""
    scenario = Path("roles") / role / "molecule" / "default"
    names = given or [
        str(scenario / name)
        for name in ("prepare.yml", "converge.yml")
        if name == "converge.yml" or (tree / scenario / name).is_file()
    ]
    paths = [Path(n) if Path(n).is_absolute() else tree / n for n in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UserError(
            f"{', '.join(missing)} is not in release tree {tree.name}; give the scenario "
            "playbooks that exist there (kubeprimer_previous_playbooks)."
        )
    return paths


def converge_command(
    tree: Path, playbook: Path, inventory: Path, extra_vars: Path | None = None
) -> tuple[list[str], dict[str, str]]:
    """ansible-playbook with the release's roles and modules, and otherwise the
    scenario's own settings (Molecule's ANSIBLE_CONFIG: connection, host keys).

    The release's scenario files keep their work files (MOLECULE_EPHEMERAL_DIRECTORY)
    in a folder of their own, so that the current scenario's prepare builds its own
    instead of finding the release's and skipping (``creates:``).
    """
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "--inventory", str(inventory)]
    if extra_vars is not None:
        argv += ["--extra-vars", f"@{extra_vars}"]
    env = {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(tree / "roles"),
        "ANSIBLE_LIBRARY": str(tree / "plugins" / "modules"),
    }
    work = os.environ.get(EPHEMERAL_ENV)
    if work:
        env[EPHEMERAL_ENV] = str(Path(work) / "previous-release")
        Path(env[EPHEMERAL_ENV]).mkdir(parents=True, exist_ok=True)
    return [*argv, str(playbook)], env


def converge(
    role: str,
    inventory: Path,
    given: list[str] | None = None,
    extra_vars: Path | None = None,
    root: Path = ROOT,
    cache: Path = CACHE,
) -> int:
    """Run the release's playbooks one after another; the first failure stops."""
    release = previous(root)
    tree = export(release, root, cache)
    for playbook in playbooks(tree, role, given):
        argv, env = converge_command(tree, playbook, inventory, extra_vars)
        shown = playbook.relative_to(tree) if playbook.is_relative_to(tree) else playbook
        print(f"{role}: {shown} of release {release.version} ({release.commit[:12]})")
        sys.stdout.flush()
        code = subprocess.run(argv, env=env, check=False).returncode
        if code:
            return code
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubeprimer.lab.release")
    parser.add_argument("action", choices=["export", "converge"])
    parser.add_argument("--role", help="the role whose upgrade is tested (converge)")
    parser.add_argument("--inventory", type=Path, help="the scenario's inventory (converge)")
    parser.add_argument(
        "--playbook",
        action="append",
        help="a playbook to run, inside the release tree when relative (repeat for more; "
        "default: the role's default scenario prepare.yml and converge.yml)",
    )
    parser.add_argument("--extra-vars", type=Path, help="a YAML or JSON file of extra vars")
    args = parser.parse_args(argv)
    try:
        if args.action == "export":
            release = previous()
            tree = export(release)
            print(
                json.dumps(
                    {
                        "version": release.version,
                        "commit": release.commit,
                        "tag": release.tag,
                        "dir": str(tree),
                    }
                )
            )
            return 0
        if not args.role or args.inventory is None:
            raise UserError("converge needs --role and --inventory.")
        return converge(args.role, args.inventory, args.playbook, args.extra_vars)
    except UserError as error:
        print("\n".join(f"error: {m}" for m in error.messages), file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
