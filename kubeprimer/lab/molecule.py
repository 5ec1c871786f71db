"""Molecule's create and destroy for role scenarios: each instance is a lab node.

The shared base config (``.config/molecule/config.yml``) runs this module from its
create and destroy playbooks::

    python -m kubeprimer.lab.molecule create --instance-config FILE --platforms a,b \\
        --os bookworm,trixie --role ROLE --scenario SCENARIO --inventory-dir DIR
    python -m kubeprimer.lab.molecule destroy --role ROLE --scenario SCENARIO

Each scenario gets its own lab, named from the role, the scenario and
KUBEPRIMER_MOLECULE_OS, so scenarios of different roles run at the same time without
meeting (one role's scenario must still run once at a time: Molecule keeps one state
folder per scenario, whatever the release). Set KUBEPRIMER_MOLECULE_LAB to the
name of a lab that is already up to run a scenario on its first nodes instead (faster
when iterating; destroy then leaves that lab alone).

Releases: each platform's ``os`` in molecule.yml (empty: ``lab_suite``, bookworm), or
KUBEPRIMER_MOLECULE_OS for the whole scenario, in ``lab.up --os``'s grammar (one
release, or a comma-separated list that nodes take in turn).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import yaml

from kubeprimer.errors import UserError
from kubeprimer.lab import inventory as lab_inventory
from kubeprimer.lab import lifecycle, plan
from kubeprimer.lab.config import RELEASES, LabConfig

REUSE_ENV = "KUBEPRIMER_MOLECULE_LAB"
OS_ENV = "KUBEPRIMER_MOLECULE_OS"


def lab_name(role: str, scenario: str, os_override: str = "") -> str:
    """Eight characters, stable per role, scenario and release override (lab names end
    up in link names); without an override, the name labs had before releases."""
    key = f"{role}/{scenario}" + (f"/{os_override}" if os_override else "")
    return "m" + hashlib.sha256(key.encode()).hexdigest()[:7]


def releases(cfg: LabConfig, platform_os: list[str], size: int) -> list[str]:
    """The release of each node: KUBEPRIMER_MOLECULE_OS, else each platform's ``os``."""
    override = os.environ.get(OS_ENV, "")
    if override:
        return list(plan.node_releases(plan.parse_os(override), size, RELEASES))
    given = platform_os or [""] * size
    if len(given) != size:
        raise UserError(f"Give one --os entry per platform ({size}), empty for the default.")
    return [r or cfg.suite for r in given]


def create(
    cfg: LabConfig,
    instance_config: Path,
    platforms: list[str],
    role: str,
    scenario: str,
    inventory_dir: Path,
    platform_os: list[str] | None = None,
) -> str:
    wanted = releases(cfg, platform_os or [], len(platforms))
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        status = lifecycle.status(cfg, reuse)
        if len(status.nodes) < len(platforms):
            raise UserError(
                f"Lab {reuse} has {len(status.nodes)} nodes but the scenario needs "
                f"{len(platforms)}; unset {REUSE_ENV} or bring up a bigger lab."
            )
        running = [n.os for n in status.nodes[: len(platforms)]]
        if running != wanted:
            raise UserError(
                f"Lab {reuse} runs {','.join(running)} where the scenario asks for "
                f"{','.join(wanted)}; unset {REUSE_ENV}, or set {OS_ENV} to what the lab runs."
            )
    else:
        status = lifecycle.up(
            cfg,
            lab_name(role, scenario, os.environ.get(OS_ENV, "")),
            len(platforms),
            inventory_dir=inventory_dir,
            hostnames=platforms,
            releases=wanted,
        )
    # The scenario checks host keys (.config/molecule/config.yml) against the lab's.
    inventory_dir.mkdir(parents=True, exist_ok=True)
    (inventory_dir / lab_inventory.KNOWN_HOSTS).write_text(status.known_hosts.read_text())
    instances = [
        {
            "instance": platform,
            "address": node.address,
            "user": "root",
            "port": 22,
            "identity_file": str(status.key),
        }
        for platform, node in zip(platforms, status.nodes, strict=False)
    ]
    instance_config.write_text(yaml.safe_dump(instances, sort_keys=False))
    return status.plan.name


def destroy(cfg: LabConfig, role: str, scenario: str) -> bool:
    if os.environ.get(REUSE_ENV):
        return False
    return lifecycle.down(cfg, lab_name(role, scenario, os.environ.get(OS_ENV, "")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubeprimer.lab.molecule")
    parser.add_argument("action", choices=["create", "destroy"])
    parser.add_argument("--role", required=True, help="the role under test")
    parser.add_argument("--scenario", required=True, help="the Molecule scenario")
    parser.add_argument("--instance-config", type=Path, help="Molecule's instance config file")
    parser.add_argument("--platforms", default="", help="platform names, comma-separated")
    parser.add_argument(
        "--os", default="", help="each platform's release, comma-separated (empty: lab_suite)"
    )
    parser.add_argument("--inventory-dir", type=Path, help="where the lab writes its inventory")
    args = parser.parse_args(argv)
    cfg = LabConfig()
    try:
        if args.action == "create":
            platforms = [p for p in args.platforms.split(",") if p]
            if not platforms or args.instance_config is None or args.inventory_dir is None:
                raise UserError("create needs --platforms, --instance-config and --inventory-dir.")
            platform_os = args.os.split(",") if args.os else []
            name = create(
                cfg,
                args.instance_config,
                platforms,
                args.role,
                args.scenario,
                args.inventory_dir,
                platform_os,
            )
            nodes = lifecycle.status(cfg, name).nodes
            running = ", ".join(f"{n.name} {n.os}" for n in nodes[: len(platforms)])
            print(f"lab {name}: {running} for {args.role}/{args.scenario}")
        else:
            gone = destroy(cfg, args.role, args.scenario)
            print(f"lab for {args.role}/{args.scenario}: {'removed' if gone else 'left as is'}")
    except UserError as error:
        print("\n".join(f"error: {m}" for m in error.messages), file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
