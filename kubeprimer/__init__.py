"""kubeprimer: bare-metal hosts to a production Kubernetes cluster, and day-2 care for it."""

__version__ = "0.2.0.dev0"
