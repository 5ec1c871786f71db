"""Runs on each host (``python3`` over SSH, as root) for cluster.status: what it holds.

Standard library only and read-only. One argument, a JSON object (base64, so that no brace reaches Ansible's
templating) from the controller:
``certificates`` (paths, read by cluster.certs' probe, which the command sends along
as ``CERTS_MAIN``), ``etcd`` (CA, client certificate and key, port: the member on
127.0.0.1 is asked through etcd's JSON gateway, skipped when the host has no such
certificate), ``vip`` (the address keepalived moves) and ``backup`` (the backup
agent's settings file). Prints one JSON line; secrets never leave the host: only
public certificates, etcd's status figures and the agent's timestamps.
"""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any


def etcd(client: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    """This host's etcd member: ``/v3/maintenance/status`` and ``/health``."""
    if not os.path.exists(client["cert"]):
        return None
    out: dict[str, Any] = {"status": None, "health": None, "error": ""}
    try:
        context = ssl.create_default_context(cafile=client["ca"])
        # The member's certificate names its addresses; the CA still decides.
        context.check_hostname = False
        context.load_cert_chain(client["cert"], client["key"])
    except (OSError, ssl.SSLError) as error:
        out["error"] = f"no usable etcd client certificate ({error})"
        return out
    base = f"https://127.0.0.1:{client['port']}"
    asks = (("status", "/v3/maintenance/status", b"{}"), ("health", "/health", None))
    for key, path, body in asks:
        try:
            with urllib.request.urlopen(
                base + path, data=body, context=context, timeout=timeout
            ) as answer:
                out[key] = json.load(answer)
        except urllib.error.HTTPError as error:
            # An unhealthy member answers /health with 503 and {"health": "false"}.
            try:
                out[key] = json.load(error)
            except ValueError:
                out["error"] = out["error"] or f"{path}: {error}"
        except Exception as error:  # whatever went wrong is this member's answer
            out["error"] = out["error"] or f"{path}: {error}"
    return out


def holds(address: str) -> bool | None:
    """Whether one of this host's interfaces carries ``address`` (None: cannot tell)."""
    try:
        shown = subprocess.run(
            ["ip", "-o", "addr", "show"], capture_output=True, text=True, timeout=5, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return any(f" {address}/" in line for line in shown.splitlines())


def _json_file(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            found = json.load(handle)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


_METRIC = re.compile(r"^kubeprimer_etcd_backup_(\w+)\{[^}]*\} (\S+)$", re.M)


def backup(settings_file: str) -> dict[str, Any]:
    """The backup agent's records here: its metric's times and the last check and drill."""
    config = _json_file(settings_file)
    if config is None:
        return {"configured": os.path.exists(settings_file)}
    state = str(config.get("state_dir") or "/var/lib/kubeprimer/etcd-backup")
    metrics: dict[str, float] = {}
    if config.get("textfile_dir"):
        try:
            path = os.path.join(str(config["textfile_dir"]), "kubeprimer_etcd_backup.prom")
            with open(path, encoding="utf-8") as handle:
                metrics = {m[1]: float(m[2]) for m in _METRIC.finditer(handle.read())}
        except (OSError, ValueError):
            pass
    records = {}
    for kind in ("check", "drill"):
        found = _json_file(os.path.join(state, f"last-{kind}.json"))
        # Only what the status shows: when, whether it passed, and why not.
        records[kind] = found and {k: found.get(k) for k in ("ok", "at", "error")}
    return {"configured": True, "metrics": metrics, **records}


def main(wanted: dict[str, Any], certificates: Any) -> dict[str, Any]:
    timeout = float(wanted.get("timeout") or 5)
    found: dict[str, Any] = certificates(wanted.get("certificates") or [])
    found["etcd"] = etcd(wanted["etcd"], timeout) if wanted.get("etcd") else None
    found["vip"] = holds(wanted["vip"]) if wanted.get("vip") else None
    found["backup"] = backup(wanted["backup"]) if wanted.get("backup") else None
    return found


if __name__ == "__main__":
    # Sent over SSH, the command defines CERTS_MAIN from certs_probe.py; run here, import it.
    reader = globals().get("CERTS_MAIN")
    if reader is None:
        from kubeprimer.cluster.certs_probe import main as reader
    print(json.dumps(main(json.loads(base64.b64decode(sys.argv[1])), reader)))
