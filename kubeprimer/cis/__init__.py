"""cluster.cis: the CIS Kubernetes Benchmark (v1.12, as kube-bench's cis-1.12 profile
implements it) checked on the hosts: one read-only SSH round per host (``probe.py``),
then every check evaluated on the controller (``catalog.py``) as a pure function of what
the host holds (``facts.py``)."""
