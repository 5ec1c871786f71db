"""The Jinja environment addon templates and addon.yml checks are evaluated in.

Undefined names are errors (a typo must not render as an empty string), and a few
filters/tests give templates what Kubernetes manifests need: YAML/JSON embedding,
base64, and address arithmetic for checks such as "the pool is inside the node network".
"""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import re
from pathlib import Path
from typing import Any

import jinja2
import yaml


def _addresses(spec: Any) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] | None:
    """First and last address of a CIDR, an ``A-B`` range or one address; None if malformed."""
    text = str(spec).strip()
    try:
        if "-" in text:
            first, last = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            if first.version != last.version or int(first) > int(last):
                return None
            return first, last
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return net[0], net[-1]


def is_address_pool(spec: Any) -> bool:
    """A CIDR (10.0.0.240/28), a range (10.0.0.240-10.0.0.250) or one address."""
    return _addresses(spec) is not None


def is_within(spec: Any, network: Any) -> bool:
    """Every address of ``spec`` lies inside ``network``; False when either is malformed."""
    span = _addresses(spec)
    try:
        net = ipaddress.ip_network(str(network), strict=False)
    except ValueError:
        return False
    return span is not None and all(a in net for a in span)


def is_network(spec: Any) -> bool:
    try:
        ipaddress.ip_network(str(spec), strict=False)
    except ValueError:
        return False
    return True


def is_match(value: Any, pattern: str) -> bool:
    """The whole value matches the regular expression (for durations, quantities...)."""
    return re.fullmatch(pattern, str(value)) is not None


def to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False).rstrip("\n")


def sha256(value: Any) -> str:
    """For a pod-template annotation: config changes then roll the pods."""
    return hashlib.sha256(str(value).encode()).hexdigest()


def b64encode(value: Any) -> str:
    return base64.b64encode(str(value).encode()).decode()


@functools.cache
def environment(search_path: Path | None = None) -> jinja2.Environment:
    """One environment per template folder (None: strings only, for addon.yml checks)."""
    loader = jinja2.FileSystemLoader(str(search_path)) if search_path else None
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # YAML manifests, not HTML
    )
    env.filters.update(to_yaml=to_yaml, b64encode=b64encode, sha256=sha256)
    env.tests.update(
        address_pool=is_address_pool, within=is_within, network=is_network, match=is_match
    )
    return env


def evaluate(expression: str, context: dict[str, Any]) -> bool:
    """A Jinja condition from addon.yml, e.g. ``settings.controller == 'nginx'``."""
    return bool(environment().compile_expression(expression)(**context))


def render_text(text: str, context: dict[str, Any]) -> str:
    return environment().from_string(text).render(**context).strip()
