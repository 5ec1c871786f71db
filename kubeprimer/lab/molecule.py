"""Molecule's create and destroy for role scenarios: each instance is a lab node.

The shared base config (``.config/molecule/config.yml``) runs this module from its
create and destroy playbooks::

    python -m kubeprimer.lab.molecule create --instance-config FILE --platforms a,b \\
        --role ROLE --scenario SCENARIO --inventory-dir DIR
    python -m kubeprimer.lab.molecule destroy --role ROLE --scenario SCENARIO

Each scenario gets its own lab, named from the role and scenario, so scenarios of
different roles run at the same time without meeting. Set KUBEPRIMER_MOLECULE_LAB to
the name of a lab that is already up to run a scenario on its first nodes instead
(faster when iterating; destroy then leaves that lab alone).
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
from kubeprimer.lab import lifecycle
from kubeprimer.lab.config import LabConfig

REUSE_ENV = "KUBEPRIMER_MOLECULE_LAB"


def lab_name(role: str, scenario: str) -> str:
    """Eight characters, stable per role and scenario (lab names end up in link names)."""
    return "m" + hashlib.sha256(f"{role}/{scenario}".encode()).hexdigest()[:7]


def create(
    cfg: LabConfig,
    instance_config: Path,
    platforms: list[str],
    role: str,
    scenario: str,
    inventory_dir: Path,
) -> str:
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        status = lifecycle.status(cfg, reuse)
        if len(status.nodes) < len(platforms):
            raise UserError(
                f"Lab {reuse} has {len(status.nodes)} nodes but the scenario needs "
                f"{len(platforms)}; unset {REUSE_ENV} or bring up a bigger lab."
            )
    else:
        status = lifecycle.up(
            cfg,
            lab_name(role, scenario),
            len(platforms),
            inventory_dir=inventory_dir,
            hostnames=platforms,
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
    return lifecycle.down(cfg, lab_name(role, scenario))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubeprimer.lab.molecule")
    parser.add_argument("action", choices=["create", "destroy"])
    parser.add_argument("--role", required=True, help="the role under test")
    parser.add_argument("--scenario", required=True, help="the Molecule scenario")
    parser.add_argument("--instance-config", type=Path, help="Molecule's instance config file")
    parser.add_argument("--platforms", default="", help="platform names, comma-separated")
    parser.add_argument("--inventory-dir", type=Path, help="where the lab writes its inventory")
    args = parser.parse_args(argv)
    cfg = LabConfig()
    try:
        if args.action == "create":
            platforms = [p for p in args.platforms.split(",") if p]
            if not platforms or args.instance_config is None or args.inventory_dir is None:
                raise UserError("create needs --platforms, --instance-config and --inventory-dir.")
            name = create(
                cfg, args.instance_config, platforms, args.role, args.scenario, args.inventory_dir
            )
            print(f"lab {name}: {len(platforms)} nodes for {args.role}/{args.scenario}")
        else:
            gone = destroy(cfg, args.role, args.scenario)
            print(f"lab for {args.role}/{args.scenario}: {'removed' if gone else 'left as is'}")
    except UserError as error:
        print("\n".join(f"error: {m}" for m in error.messages), file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
