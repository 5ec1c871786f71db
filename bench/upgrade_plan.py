"""Wall time of `invoke cluster.upgrade --plan` on lab nodes against a converged
`invoke cluster.up` on the same nodes, against the target:

  cluster.upgrade --plan (6 nodes)  <= 1.5 x converged cluster.up (6 nodes)

The lab cannot run Kubernetes (cluster.up stops at kube_artifacts: its binaries cannot be
downloaded here), so on the lab alone the plan finds no API server and reads what a fresh
cluster offers. With --api-double (the default) the plan is also timed against the
Kubernetes API test double (tests/doubles/fake_kube_api.py) holding the lab's nodes at
the previous patch release, so it reads the API server, every node, the pod network's
DaemonSets and the record, and lists a step per node, as on a real cluster.

Boots the lab (`invoke lab.up`, not timed), converges it once (not timed), then alternates
the measured runs; medians over --runs. Needs root (the lab).

Usage: .venv/bin/python -u bench/upgrade_plan.py [--runs N] [--nodes 6] [--lab u1] [--keep]
       [--converged] [--no-api-double]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

# bench/ is this script's folder: the cluster.up bench's lab helpers are reused as they are.
from cluster_up import invoke, lab_down, lab_up, timed_up

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from doubles.fake_kube_api import FakeKubeApi  # noqa: E402


def timed_plan(inventory: Path, *flags: str) -> float:
    start = time.perf_counter()
    done = invoke("cluster.upgrade", "--plan", "-i", str(inventory), *flags, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"cluster.upgrade --plan failed:\n{done.stdout}{done.stderr}")
    return elapsed


def api_double(nodes: list[str]) -> FakeKubeApi:
    """The API double with the lab's nodes Ready at the release before the pin."""
    api = FakeKubeApi()
    for name in nodes:
        api.add_node(name)
        api.objects[("", "nodes", "", name)]["status"]["nodeInfo"] = {
            "kubeletVersion": "v1.37.0",
            "containerRuntimeVersion": "containerd://2.3.5",
            "osImage": "Debian GNU/Linux 12 (bookworm)",
        }
    return api


def lab_nodes(inventory: Path) -> list[str]:
    import yaml

    return sorted((yaml.safe_load(inventory.read_text())["all"]["hosts"] or {}).keys())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement")
    parser.add_argument("--nodes", type=int, default=6, help="lab nodes")
    parser.add_argument("--lab", default="u1", help="lab name")
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    parser.add_argument(
        "--converged",
        action="store_true",
        help="the lab is already up and converged: skip the first, uncounted cluster.up",
    )
    parser.add_argument(
        "--no-api-double", action="store_true", help="skip the runs against the API double"
    )
    args = parser.parse_args()

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}"
    )
    inventory = lab_up(args.lab, args.nodes)
    up: list[float] = []
    plan: list[float] = []
    plan_api: list[float] = []
    try:
        if not args.converged:
            elapsed, _, rc, _ = timed_up(inventory)
            print(
                f"{args.nodes} nodes, first cluster.up (not counted): {elapsed:.1f} s (exit {rc})"
            )
        api = None if args.no_api_double else api_double(lab_nodes(inventory))
        with contextlib.ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            kubeconfig = stack.enter_context(api.serve(work)) if api else None
            for i in range(args.runs):
                up.append(timed_up(inventory)[0])
                plan.append(timed_plan(inventory))
                line = f"run {i + 1}: converged cluster.up {up[-1]:.1f} s, plan {plan[-1]:.1f} s"
                if kubeconfig:
                    plan_api.append(timed_plan(inventory, "--kubeconfig", str(kubeconfig)))
                    line += f", plan against the API double {plan_api[-1]:.1f} s"
                print(f"{line}, load {os.getloadavg()[0]:.1f}")
    finally:
        if not args.keep:
            lab_down(args.lab)

    converged = statistics.median(up)
    print()
    print(f"{args.nodes} nodes: converged cluster.up {converged:.1f} s (median of {len(up)})")
    for name, samples in (("plan (lab only)", plan), ("plan (API double)", plan_api)):
        if samples:
            value = statistics.median(samples)
            print(
                f"{args.nodes} nodes: cluster.upgrade --plan, {name}: {value:.1f} s, "
                f"{value / converged:.2f} x converged cluster.up (target <= 1.5 x)"
            )


if __name__ == "__main__":
    main()
