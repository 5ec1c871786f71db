"""Preflight: checks every host before anything is installed on it."""
