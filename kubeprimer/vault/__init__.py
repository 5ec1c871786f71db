"""Vault and OpenBao: initialise and unseal safely, configuration as code, Kubernetes auth.

OpenBao speaks the Vault API, so one hvac client drives both. Every module here imports
hvac inside its functions: ``invoke --list`` must not pay for it.
"""
