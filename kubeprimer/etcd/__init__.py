"""etcd backups: the controller side (options, reports) and the on-host agent.

The agent (``kubeprimer.etcd.agent``) is installed on the etcd hosts by the
``etcd_backup`` role; it uses only the standard library, so it runs on a bare
Debian or Ubuntu host without kubeprimer installed.
"""
