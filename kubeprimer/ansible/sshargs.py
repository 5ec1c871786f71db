"""``python -m kubeprimer.ansible.sshargs INVENTORY``: the ssh_args kubeprimer uses on
an inventory (host keys checked against its known_hosts), for ``ANSIBLE_SSH_ARGS`` in
a hand-run ansible-playbook. A module of its own: ``-m`` on a module the package
already imports would run it twice."""

from __future__ import annotations

import sys
from pathlib import Path

from kubeprimer.ansible.hostkeys import ssh_args
from kubeprimer.paths import ROOT


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m kubeprimer.ansible.sshargs INVENTORY", file=sys.stderr)
        return 2
    print(ssh_args(Path(argv[0]), ROOT / ".runs"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
