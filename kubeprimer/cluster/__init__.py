"""Helpers for cluster.up: what a finished run hands to the user."""
