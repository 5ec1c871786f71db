"""Runs on each host (``python3`` over SSH, as root) and prints the certificates it holds.

Standard library only and read-only. The paths come in as arguments; a path that is not
there is left out. Only public certificates leave the host: from a PEM file its
CERTIFICATE blocks (kubelet's ``*-current.pem`` also holds the private key, which stays),
from a kubeconfig its ``client-certificate-data`` (never ``client-key-data``).
"""

from __future__ import annotations

import base64
import json
import re
import sys

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")
_EMBEDDED = re.compile(r"^\s*client-certificate-data:\s*([A-Za-z0-9+/=]+)\s*$", re.M)


def certificates(text: str) -> list[str]:
    embedded = _EMBEDDED.search(text)
    if embedded:
        text = base64.b64decode(embedded.group(1)).decode("ascii", "replace")
    return _PEM.findall(text)


def main(paths: list[str]) -> dict[str, object]:
    found: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for path in paths:
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                text = handle.read()
        except FileNotFoundError:
            continue
        except OSError as error:
            errors[path] = error.strerror or str(error)
            continue
        found[path] = certificates(text)
    return {"certificates": found, "errors": errors}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
