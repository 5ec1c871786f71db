"""Run ON a host (python3 only): the etcd membership and each member's health, as JSON.

cluster.remove-node and cluster.up --limit ask a live member before they change the
membership, through etcd's JSON gateway (the same API etcdctl speaks), so the one
program works for external etcd (the member's own certificate) and for kubeadm's
stacked etcd (the API server's etcd client certificate), where no etcdctl is installed.
Arguments: CA file, client certificate, client key, the host's etcd data folder, then
every member's client URL. Prints one line:
{"data": bool, "members": [...] | null, "health": {url: bool}, "error": str}.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from typing import Any


def ask(context: ssl.SSLContext, url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, context=context, timeout=3) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        # An unhealthy member answers /health with 503 and {"health": "false"}.
        return json.load(error)


def main() -> None:
    ca, cert, key, data_dir = sys.argv[1:5]
    urls = sys.argv[5:]
    health: dict[str, bool] = {}
    out: dict[str, Any] = {
        "data": os.path.isdir(os.path.join(data_dir, "member")),
        "members": None,
        "health": health,
        "error": "",
    }
    try:
        context = ssl.create_default_context(cafile=ca)
        # Members' certificates name their addresses; the CA still decides.
        context.check_hostname = False
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        out["error"] = f"no usable etcd client certificate ({error})"
        print(json.dumps(out))
        return
    for url in urls:
        try:
            health[url] = str(ask(context, url + "/health").get("health")) == "true"
        except Exception:  # a dead member's answer is that it did not answer
            health[url] = False
    for url in sorted(urls, key=lambda u: not health[u]):
        try:
            out["members"] = ask(context, url + "/v3/cluster/member/list", {}).get("members", [])
            break
        except Exception as error:
            out["error"] = f"{url}: {error}"
    print(json.dumps(out))


main()
