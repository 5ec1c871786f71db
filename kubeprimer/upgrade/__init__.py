"""Upgrades: what the cluster runs now, which version moves are allowed, and the checks
that stop a run before it touches a host (the cluster.up guard, health, budgets)."""
