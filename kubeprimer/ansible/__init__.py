"""Running playbooks through ansible-runner with progress taken from its events."""

from kubeprimer.ansible.runner import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    RunResult,
    run_playbook,
)

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNREACHABLE", "RunResult", "run_playbook"]
