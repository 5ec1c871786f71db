"""Addons: pinned, templated Kubernetes manifests installed the same way on every cluster.

Each addon is a folder ``addons/NAME/`` (see docs/addons.md). This package loads the
folders (catalog), merges their defaults with the inventory (config), renders the
manifests (render), and applies, waits for, reports on and removes them on a live
cluster (apply, rollout, remove, status).
"""
