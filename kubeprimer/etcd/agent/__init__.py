"""kubeprimer-etcd-backup: the on-host half of etcd backups.

Installed by ``roles/etcd_backup`` under /usr/local/lib/kubeprimer and run by a
systemd service (and its timer), by the etcd playbooks and by the tests. It uses
only the standard library and relative imports, so the same files run inside the
kubeprimer package and as a stand-alone package on a host with plain python3.
"""
