"""The CIS tests judge the configuration the roles render, rendered once per session by
the same fixture the cluster template tests use."""

from tests.unit.cluster.conftest import rendered

__all__ = ["rendered"]
