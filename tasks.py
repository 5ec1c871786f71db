"""Invoke entry point: the task tree lives in kubeprimer.tasks."""

from kubeprimer.tasks import ns

__all__ = ["ns"]
