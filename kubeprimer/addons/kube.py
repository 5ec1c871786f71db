"""A connection to the cluster's API: the ``kubernetes`` dynamic client, from a kubeconfig."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kubeprimer import yamlfile
from kubeprimer.errors import UserError


class NotReady(Exception):
    """The cluster did not reach the wanted state in time (not a user mistake: exit 1)."""


class Stopped(Exception):
    """A write the API server refused after the permission check allowed it (exit 1):
    what was applied before it stays, and its remove task takes it away."""


def connect(kubeconfig: Path | None) -> Any:
    """A DynamicClient for ``kubeconfig`` (None: $KUBECONFIG, then ~/.kube/config)."""
    import yaml
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.dynamic import DynamicClient
    from urllib3.exceptions import HTTPError

    # The client's signatures are untyped; name them as Any to keep the strict check useful.
    new_client: Any = config.new_client_from_config
    dynamic: Any = DynamicClient
    where = str(kubeconfig) if kubeconfig else None
    if kubeconfig and not kubeconfig.is_file():
        raise UserError(f"The kubeconfig {kubeconfig} does not exist; pass --kubeconfig FILE.")
    if kubeconfig:
        # The client's own YAML reading ends in a traceback on such a file; say what is wrong.
        yamlfile.parse(yamlfile.text_of(kubeconfig), kubeconfig)
    try:
        api_client = new_client(config_file=where)
    except (ConfigException, OSError) as error:
        raise UserError(f"No usable kubeconfig ({error}); pass --kubeconfig FILE.") from None
    except (ValueError, TypeError, AttributeError, KeyError, yaml.YAMLError) as error:
        # A file that is YAML but not a kubeconfig (a list, a context without its cluster).
        raise UserError(
            f"No usable kubeconfig ({error.__class__.__name__} while reading it); "
            "pass --kubeconfig FILE."
        ) from None
    _reachable(api_client.configuration.host)
    # A private discovery cache: the shared default in the temp dir outlives clusters.
    cache = Path(tempfile.mkdtemp(prefix="kubeprimer-discovery-")) / "cache.json"
    server = api_client.configuration.host
    try:
        with refusals():
            return dynamic(api_client, cache_file=str(cache))
    except HTTPError as error:
        raise UserError(f"The API server at {server} cannot be reached ({error}).") from None
    except ValueError:
        # What the client raises when an http:// address reaches a TLS listener.
        raise UserError(
            f"The API server at {server} speaks HTTPS; write its address as https:// in "
            "the kubeconfig."
        ) from None


@contextmanager
def refusals() -> Iterator[None]:
    """The API server refusing the kubeconfig's credentials, at any call, is one sentence."""
    from kubernetes.client.exceptions import ApiException

    try:
        yield
    except ApiException as error:
        if error.status == 401:
            raise UserError(
                "The API server does not accept the kubeconfig's credentials (401 "
                "Unauthorized); pass a current admin kubeconfig with --kubeconfig."
            ) from None
        if error.status == 403:
            raise UserError(
                f"The kubeconfig's user may not do this ({reason(error)}); pass an "
                "admin kubeconfig with --kubeconfig."
            ) from None
        raise


def reason(error: Any) -> str:
    """The server's own message for a refusal: which verb on which resource."""
    import json

    try:
        return str(json.loads(error.body)["message"])
    except (TypeError, ValueError, KeyError):
        return "403 Forbidden"


def _reachable(server: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not after the TCP timeout, when nothing answers at ``server``."""
    url = urlsplit(server)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=timeout).close()
    except OSError as error:
        raise UserError(f"The API server at {server} cannot be reached ({error}).") from None


def resource(client: Any, api_version: str, kind: str) -> Any:
    """The API resource of a kind, found through discovery (CRDs included once established)."""
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    try:
        return client.resources.get(api_version=api_version, kind=kind)
    except ResourceNotFoundError:
        raise UserError(f"The cluster does not serve {kind} in {api_version}.") from None


def fetch(client: Any, api_version: str, kind: str, name: str, namespace: str = "") -> Any:
    """The live object, or None when it does not exist."""
    from kubernetes.dynamic.exceptions import NotFoundError

    res = resource(client, api_version, kind)
    try:
        return client.get(res, name=name, namespace=namespace or None)
    except NotFoundError:
        return None
