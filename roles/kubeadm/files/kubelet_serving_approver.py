#!/usr/bin/python3
"""Approve the kubelets' serving certificate requests, and nothing else.

kube-controller-manager signs kubernetes.io/kubelet-serving requests only once they are
approved, and approves none itself: the request's names are chosen by the kubelet, so
approving blindly would let any node get a certificate for another node's name or for
the API server's. A pending request is approved here only when all of these hold:

- its signer is kubernetes.io/kubelet-serving;
- it was made by system:node:NAME (group system:nodes), NAME a node listed in --nodes;
- the request itself names that node: subject CN=system:node:NAME, O=system:nodes;
- its subject alternative names are among that node's names and addresses in --nodes,
  DNS names and IP addresses only, at least one;
- its usages are server auth plus at most digital signature and key encipherment.

Anything else stays pending (and is reported), for a person to decide. The request is
approved with a PUT of the very object that was checked (uid and resourceVersion), so a
request replaced meanwhile is refused by the API server.

Runs on a control plane with python3 and kubectl only (standard library). Prints a JSON
summary: {"approved": [...], "refused": {csr: reason}, "nodes": [...]}, where "nodes"
are the listed nodes that have an approved serving request.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import ipaddress
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

SIGNER = "kubernetes.io/kubelet-serving"
NODE_USER = "system:node:"
NODES_GROUP = "system:nodes"
USAGES = {"digital signature", "key encipherment", "server auth"}
APPROVAL = "/apis/certificates.k8s.io/v1/certificatesigningrequests/{}/approval"
_CSR_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

_OID_CN = "2.5.4.3"
_OID_O = "2.5.4.10"
_OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14"
_OID_SAN = "2.5.29.17"
_SEQUENCE, _SET, _OCTET_STRING, _OID, _ATTRIBUTES = 0x30, 0x31, 0x04, 0x06, 0xA0
_SAN_DNS, _SAN_IP = 0x82, 0x87


class Refused(Exception):
    """The reason a request is not approved."""


@dataclass(frozen=True)
class Request:
    """What a certificate request asks for."""

    subject: list[tuple[str, str]]
    dns_names: list[str]
    ip_addresses: list[str]


# -- DER, only as much as a PKCS#10 request needs ---------------------------------------
def _element(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise Refused("the request is truncated")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4 or pos + size > len(data):
            raise Refused("the request has a bad length")
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    if pos + length > len(data):
        raise Refused("the request is truncated")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    found = []
    while start < end:
        tag, first, last = _element(data, start)
        found.append((tag, first, last))
        start = last
    if start != end:
        raise Refused("the request is malformed")
    return found


def _expect(element: tuple[int, int, int], tag: int) -> tuple[int, int, int]:
    if element[0] != tag:
        raise Refused("the request is not a PKCS#10 certificate request")
    return element


def _oid(raw: bytes) -> str:
    if not raw:
        raise Refused("the request holds an empty object identifier")
    arcs, value = [], 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def parse_request(pem: str) -> Request:
    """The subject and alternative names of a PEM certificate request."""
    body = re.search(
        r"-----BEGIN CERTIFICATE REQUEST-----(.+?)-----END CERTIFICATE REQUEST-----", pem, re.S
    )
    if not body:
        raise Refused("spec.request is not a PEM certificate request")
    try:
        der = base64.b64decode("".join(body.group(1).split()), validate=True)
    except binascii.Error as error:
        raise Refused("spec.request is not valid base64") from error
    _, start, end = _expect(_element(der, 0), _SEQUENCE)
    info = _expect(_children(der, start, end)[0], _SEQUENCE)
    parts = _children(der, info[1], info[2])
    if len(parts) < 3:
        raise Refused("the request is not a PKCS#10 certificate request")
    subject = _subject(der, _expect(parts[1], _SEQUENCE))
    dns: list[str] = []
    ips: list[str] = []
    for tag, first, last in parts[3:]:
        if tag != _ATTRIBUTES:
            raise Refused("the request has unexpected fields")
        for attribute in _children(der, first, last):
            oid_el, values = _children(der, attribute[1], attribute[2])
            if _oid(der[oid_el[1] : oid_el[2]]) != _OID_EXTENSION_REQUEST:
                raise Refused("the request carries attributes other than extensions")
            for extensions in _children(der, values[1], values[2]):
                _extensions(der, _expect(extensions, _SEQUENCE), dns, ips)
    return Request(subject, dns, ips)


def _subject(der: bytes, name: tuple[int, int, int]) -> list[tuple[str, str]]:
    found = []
    for rdn in _children(der, name[1], name[2]):
        for pair in _children(der, *_expect(rdn, _SET)[1:]):
            oid_el, value = _children(der, pair[1], pair[2])
            found.append((_oid(der[oid_el[1] : oid_el[2]]), der[value[1] : value[2]].decode()))
    return found


def _extensions(der: bytes, seq: tuple[int, int, int], dns: list[str], ips: list[str]) -> None:
    for extension in _children(der, seq[1], seq[2]):
        fields = _children(der, extension[1], extension[2])
        if _oid(der[fields[0][1] : fields[0][2]]) != _OID_SAN:
            continue
        value = _expect(fields[-1], _OCTET_STRING)
        names = _expect(_element(der, value[1]), _SEQUENCE)
        for tag, first, last in _children(der, names[1], names[2]):
            if tag == _SAN_DNS:
                dns.append(der[first:last].decode("ascii"))
            elif tag == _SAN_IP:
                ips.append(str(ipaddress.ip_address(der[first:last])))
            else:
                raise Refused("the request names something other than DNS names and IP addresses")


# -- policy -------------------------------------------------------------------------------
def _approved_or_denied(csr: dict[str, Any]) -> str | None:
    for condition in (csr.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Approved", "Denied"):
            return str(condition["type"])
    return None


def check(csr: dict[str, Any], nodes: dict[str, list[str]]) -> str:
    """The node a pending request may be approved for; Refused says why not."""
    spec = csr.get("spec") or {}
    if spec.get("signerName") != SIGNER:
        raise Refused(f"signer {spec.get('signerName')!r} is not {SIGNER}")
    user = str(spec.get("username", ""))
    node = user.removeprefix(NODE_USER)
    if not user.startswith(NODE_USER) or node not in nodes:
        raise Refused(f"requestor {user!r} is not a node of this cluster")
    if NODES_GROUP not in (spec.get("groups") or []):
        raise Refused(f"requestor {user!r} is not in group {NODES_GROUP}")
    usages = set(spec.get("usages") or [])
    if "server auth" not in usages or not usages <= USAGES:
        raise Refused(f"usages {sorted(usages)} are not those of a serving certificate")
    request = parse_request(base64.b64decode(spec.get("request", "")).decode("ascii", "replace"))
    if sorted(request.subject) != sorted([(_OID_CN, user), (_OID_O, NODES_GROUP)]):
        raise Refused(f"the subject is not CN={user}, O={NODES_GROUP}")
    allowed = set(nodes[node])
    allowed_ips = {str(ipaddress.ip_address(a)) for a in allowed if _is_ip(a)}
    extra = [n for n in request.dns_names if n not in allowed]
    extra += [a for a in request.ip_addresses if a not in allowed_ips]
    if extra:
        raise Refused(f"names {extra} are not {node}'s")
    if not request.dns_names and not request.ip_addresses:
        raise Refused("the request names no DNS name or IP address")
    return node


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- the cluster --------------------------------------------------------------------------
class Conflict(Exception):
    """The object changed since it was read (another approver, or a replaced request)."""


def _kubectl(base: list[str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [*base, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0 and "(Conflict)" in done.stderr:
        raise Conflict(done.stderr.strip())
    if done.returncode != 0:
        raise SystemExit(f"kubectl {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def _approve(base: list[str], csr: dict[str, Any], node: str) -> None:
    name = csr["metadata"]["name"]
    status = csr.setdefault("status", {})
    status["conditions"] = [
        *(status.get("conditions") or []),
        {
            "type": "Approved",
            "status": "True",
            "reason": "KubeprimerKubeletServing",
            "message": f"serving certificate of node {node}, names checked by kubeprimer",
        },
    ]
    _kubectl(base, "replace", "--raw", APPROVAL.format(name), "-f", "-", stdin=json.dumps(csr))


def run(base: list[str], nodes: dict[str, list[str]]) -> dict[str, Any]:
    listed = json.loads(_kubectl(base, "get", "certificatesigningrequests", "--output=json"))
    approved: list[str] = []
    refused: dict[str, str] = {}
    served: set[str] = set()
    for csr in listed.get("items") or []:
        name = str((csr.get("metadata") or {}).get("name", ""))
        spec = csr.get("spec") or {}
        decided = _approved_or_denied(csr)
        if spec.get("signerName") != SIGNER:
            continue
        if decided == "Approved":
            user = str(spec.get("username", ""))
            if user.removeprefix(NODE_USER) in nodes:
                served.add(user.removeprefix(NODE_USER))
            continue
        if decided or not _CSR_NAME.match(name):
            continue
        try:
            node = check(csr, nodes)
        except Refused as reason:
            refused[name] = str(reason)
            continue
        except (ValueError, IndexError) as error:  # UnicodeDecodeError is a ValueError
            # A node can send any bytes: a request that cannot be read is refused, and
            # the other nodes' requests are still looked at.
            refused[name] = f"the request cannot be read ({error})"
            continue
        try:
            _approve(base, csr, node)
        except Conflict:
            # Every control plane runs an approver: another one may have just decided.
            refused[name] = "changed while it was checked; looked at again next time"
            continue
        approved.append(name)
        served.add(node)
    return {"approved": approved, "refused": refused, "nodes": sorted(served)}


def _read_nodes(path: str) -> dict[str, list[str]]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise SystemExit(
            f"Cannot read the node list {path} ({error}); run cluster.up again."
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise SystemExit(f"{path} must map each node name to a list of its names and addresses.")
    return {str(k): [str(n) for n in v] for k, v in data.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig allowed to approve")
    parser.add_argument("--nodes", required=True, help="JSON file: node name -> its names")
    parser.add_argument("--kubectl", default="kubectl", help="kubectl to run")
    parser.add_argument(
        "--wait-for", default="", help="comma-separated nodes whose requests must be approved"
    )
    parser.add_argument("--timeout", type=int, default=180, help="seconds to wait for them")
    parser.add_argument("--interval", type=int, default=5, help="seconds between looks")
    options = parser.parse_args(argv)
    nodes = _read_nodes(options.nodes)
    wanted = [n for n in options.wait_for.split(",") if n]
    deadline = time.monotonic() + options.timeout
    approved: list[str] = []
    while True:
        summary = run([options.kubectl, f"--kubeconfig={options.kubeconfig}"], nodes)
        approved += summary["approved"]
        missing = [n for n in wanted if n not in summary["nodes"]]
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(options.interval)
    summary["approved"] = approved
    for name, reason in summary["refused"].items():
        print(f"left pending: {name}: {reason}", file=sys.stderr)
    print(json.dumps(summary, sort_keys=True))
    if missing:
        print(
            f"No serving certificate request of {', '.join(missing)} could be approved in "
            f"{options.timeout} s: check that kubelet runs there and read the requests left "
            "pending above.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
