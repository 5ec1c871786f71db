"""Reach a Vault/OpenBao server: address, CA and token, with errors a person can act on.

The token never comes from a command-line argument (argv is visible to every user in
``ps``): it is read from a file that only its owner can read, or from the environment.
"""

from __future__ import annotations

import os
import stat
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeprimer.errors import UserError
from kubeprimer.vault.reserved import ADMIN_POLICY

ADDRESS_ENV = ("BAO_ADDR", "VAULT_ADDR")
CACERT_ENV = ("BAO_CACERT", "VAULT_CACERT")
TOKEN_ENV = ("BAO_TOKEN", "VAULT_TOKEN")


@dataclass(frozen=True)
class Endpoint:
    """Where a server listens and which CA vouches for it."""

    address: str
    ca_cert: Path | None = None


def _first_env(names: tuple[str, ...]) -> str:
    return next((os.environ[n] for n in names if os.environ.get(n)), "")


def endpoint(address: str | None = None, ca_cert: str | None = None) -> Endpoint:
    """The server from the options, else from BAO_ADDR/VAULT_ADDR and BAO_CACERT/VAULT_CACERT."""
    addr = address or _first_env(ADDRESS_ENV)
    if not addr:
        raise UserError("No server address: pass --address or set BAO_ADDR (or VAULT_ADDR).")
    if not addr.startswith(("https://", "http://")):
        raise UserError(f"Server address {addr!r} must start with https:// (or http://).")
    try:
        parts = urllib.parse.urlsplit(addr)
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or not parts.hostname:
        raise UserError(
            f"Server address {addr!r} is not HOST or HOST:PORT after the scheme; "
            "its port must be a number from 1 to 65535."
        )
    ca = ca_cert or _first_env(CACERT_ENV)
    if ca and not Path(ca).is_file():
        raise UserError(f"CA certificate {ca} does not exist: pass the CA that signed the server.")
    return Endpoint(addr.rstrip("/"), Path(ca) if ca else None)


def check_private(path: Path, what: str) -> None:
    """Refuse a secret file that others can read: it would already have leaked."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UserError(
            f"{what} {path} has mode {mode:04o}; run `chmod 600 {path}` so only you can read it."
        )


def read_text(path: Path, what: str) -> str:
    """A small file a person wrote, as text; bytes that are not UTF-8 are one sentence."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(
            f"{what} {path} is not UTF-8 text (byte {error.start}): is it the right file?"
        ) from None


def read_token(token_file: str | None = None) -> tuple[str, str]:
    """The token and where it came from: a 0600 file, else BAO_TOKEN/VAULT_TOKEN."""
    if token_file:
        path = Path(token_file).expanduser()
        if not path.is_file():
            raise UserError(f"Token file {path} does not exist.")
        check_private(path, "Token file")
        token = read_text(path, "Token file").strip()
        if not token:
            raise UserError(f"Token file {path} is empty.")
        return _checked(token, f"token file {path}"), f"token file {path}"
    for name in TOKEN_ENV:
        if os.environ.get(name):
            return _checked(os.environ[name].strip(), f"${name}"), f"${name}"
    raise UserError("No token: pass --token-file (mode 0600) or set BAO_TOKEN (or VAULT_TOKEN).")


def _checked(token: str, source: str) -> str:
    """Tokens are printable ASCII; anything else cannot even travel in an HTTP header."""
    if not (token.isascii() and token.isprintable()):
        raise UserError(f"The {source} holds characters no token has: is it the right one?")
    return token


def raw_client(ep: Endpoint, token: str | None = None) -> Any:
    """An hvac client, not yet checked; TLS is verified against the given CA or the system's."""
    import hvac

    verify: bool | str = str(ep.ca_cert) if ep.ca_cert else True
    return hvac.Client(url=ep.address, token=token, verify=verify, timeout=10)


class Unreachable(UserError):
    """The server did not answer: not bad input, so exit status 3 as for any host (README)."""

    exit_code = 3


def unreachable(ep: Endpoint, error: Exception) -> UserError:
    """One sentence for a server that does not answer, or answers with a certificate we distrust."""
    import requests

    if isinstance(error, requests.exceptions.SSLError) and "WRONG_VERSION_NUMBER" in str(error):
        plain = "http://" + ep.address.removeprefix("https://")
        return UserError(f"The server at {ep.address} does not speak TLS: use {plain}.")
    if isinstance(error, requests.exceptions.SSLError):
        return UserError(
            f"TLS to {ep.address} failed ({_short(error)}): pass --ca-cert with the CA "
            "that signed the server's certificate."
        )
    return Unreachable(f"Cannot reach the server at {ep.address} ({_short(error)}): is it running?")


# requests nests the reason several exceptions deep; these are what a person needs to read.
_REASONS = (
    ("CERTIFICATE_VERIFY_FAILED", "the certificate is not signed by a trusted CA"),
    ("Connection refused", "connection refused"),
    ("Name or service not known", "unknown host name"),
    ("No route to host", "no route to host"),
    ("timed out", "timed out"),
    ("WRONG_VERSION_NUMBER", "the server does not speak TLS there"),
)


def _short(error: Exception) -> str:
    text = str(error)
    return next((why for needle, why in _REASONS if needle in text), type(error).__name__)


def seal_status(ep: Endpoint) -> dict[str, Any]:
    """The unauthenticated seal status, or a UserError when the server cannot be reached."""
    import hvac.exceptions
    import requests

    try:
        status: dict[str, Any] = raw_client(ep).sys.read_seal_status()
    except requests.exceptions.RequestException as error:
        raise unreachable(ep, error) from None
    except (hvac.exceptions.VaultError, ValueError) as error:
        if "HTTP request to an HTTPS server" in str(error):
            secure = "https://" + ep.address.removeprefix("http://")
            raise UserError(f"The server at {ep.address} speaks HTTPS: use {secure}.") from None
        raise UserError(
            f"{ep.address} did not answer like a Vault or OpenBao server "
            f"({reason(error)}): check the address."
        ) from None
    return status


def authenticated(ep: Endpoint, token: str, source: str) -> Any:
    """A client whose token works on an unsealed server; otherwise one clear sentence."""
    import hvac.exceptions
    import requests

    status = seal_status(ep)
    if not status.get("initialized"):
        raise UserError(f"The server at {ep.address} is not initialised: run `invoke vault.init`.")
    if status.get("sealed"):
        raise UserError(f"The server at {ep.address} is sealed: run `invoke vault.unseal`.")
    client = raw_client(ep, token)
    try:
        client.auth.token.lookup_self()
    except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
        raise UserError(
            f"The token from {source} is not valid on {ep.address}: it is wrong, expired or revoked."
        ) from None
    except hvac.exceptions.VaultDown:
        raise UserError(
            f"The server at {ep.address} is sealed: run `invoke vault.unseal`."
        ) from None
    except requests.exceptions.RequestException as error:
        raise unreachable(ep, error) from None
    return client


def connect(
    address: str | None = None, ca_cert: str | None = None, token_file: str | None = None
) -> Any:
    """An authenticated hvac client from options and environment, checked before use."""
    ep = endpoint(address, ca_cert)
    token, source = read_token(token_file)
    return authenticated(ep, token, source)


def reason(error: Exception) -> str:
    """The server's own words: hvac appends ", on put https://..." and the server newlines."""
    return " ".join(str(error).split(", on ")[0].split()).rstrip(".")


def denied(error: Exception) -> UserError:
    """One sentence for a token the server refuses a request: which request, which token to use."""
    method, _, url = str(error).rpartition(", on ")[2].partition(" ")
    path = url[url.find("/v1/") :] if "/v1/" in url else url
    return UserError(
        f"The token may not {method} {path}: use the admin token `invoke vault.init` "
        f"wrote (policy {ADMIN_POLICY})."
    )
