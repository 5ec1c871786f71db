"""vault.*: install, initialise and unseal Vault/OpenBao; configuration as code; Kubernetes auth."""

from __future__ import annotations

import dataclasses
import getpass
import re
import sys
from pathlib import Path
from typing import Any

from invoke import Collection, Exit

from kubeprimer.output import JSON_HELP, emit_json
from kubeprimer.tasks._common import (
    INVENTORY_HELP,
    KUBECONFIG_HELP,
    kubeconfig_path,
    load_inventory,
    play,
)
from kubeprimer.tasks._task import task

ADDRESS_HELP = "server URL(s), comma-separated (default: the inventory's vault hosts, or $BAO_ADDR)"
CA_HELP = (
    "CA certificate of the servers (default: the toolkit CA beside the inventory, or $BAO_CACERT)"
)
TOKEN_HELP = "file (mode 0600) holding the token (default: $BAO_TOKEN or $VAULT_TOKEN)"
CONFIG_HELP = "declarative configuration file (see vault/config.example.yml)"
PRUNE_HELP = "also remove policies, roles, kv-v2 mounts and secrets the file does not declare"


def _members(c: Any, address: str | None, ca_cert: str | None, inventory: str | None) -> list[Any]:
    from kubeprimer.vault import members
    from kubeprimer.vault.connect import ADDRESS_ENV, _first_env

    if address:
        return members.from_addresses(address, ca_cert)
    if inventory or not _first_env(ADDRESS_ENV):
        return members.from_inventory(load_inventory(c, inventory), ca_cert)
    return members.from_addresses(_first_env(ADDRESS_ENV), ca_cert)


def _say(text: str = "") -> None:
    # Reports go to stderr so that stdout stays free for the plan text.
    print(text, file=sys.stderr)


def _prompt_keys(wanted: int) -> list[str]:
    """Ask for keys without echo; getpass reads the terminal, not argv or the environment.

    An empty answer stops early: a key holder often brings only their own key.
    """
    _say(f"Enter up to {wanted} unseal key(s); input is hidden, an empty line stops.")
    keys = []
    for i in range(1, wanted + 1):
        try:
            key = getpass.getpass(f"Unseal key {i} of {wanted}: ").strip()
        except EOFError:  # input closed: the keys given so far are all there are
            break
        if not key:
            break
        keys.append(key)
    return keys


def _report(statuses: list[Any]) -> bool:
    for s in statuses:
        state = "sealed" if s.sealed else "unsealed"
        extra = f" (keys {s.progress})" if s.sealed else ""
        _say(f"  {s.address}: {state}{extra}" + (f": {s.error}" if s.error else ""))
    return all(not s.sealed for s in statuses)


def _whole(flag: str, value: str | int) -> list[str]:
    """The problem with a count given on the command line, if any."""
    if re.fullmatch(r"-?[0-9]+", str(value).strip()):
        return []
    return [f"{flag} {value!r} must be a whole number."]


@task(help={"inventory": INVENTORY_HELP, "check": "dry run: report what would change"})
def install(c: Any, inventory: str | None = None, check: bool = False) -> None:
    """Install Vault/OpenBao as a raft cluster on the inventory's vault hosts."""
    play(c, "vault.yml", inventory, check=check, diff=check)


@task(
    help={
        "address": ADDRESS_HELP,
        "ca_cert": CA_HELP,
        "inventory": INVENTORY_HELP,
        "key_shares": "number of unseal key shares (default 5)",
        "key_threshold": "shares needed to unseal (default 3)",
        "pgp_keys": "comma-separated PGP public key files, one per share (the server encrypts)",
        "age_recipients": "file of age recipients, one per line and per share",
        "out": "folder for the key files and the admin token (made mode 0700 if missing)",
    }
)
def init(
    c: Any,
    out: str,
    address: str | None = None,
    ca_cert: str | None = None,
    inventory: str | None = None,
    # Text, not int: invoke turns a non-number into a traceback; _whole says it in a sentence.
    key_shares: str = "5",
    key_threshold: str = "3",
    pgp_keys: str | None = None,
    age_recipients: str | None = None,
) -> None:
    """Initialise and unseal a new server; keys go to operators, root is revoked.

    After a failure, the same command with the same --out finishes the steps left.
    """
    from kubeprimer.errors import raise_if
    from kubeprimer.vault.init import Protection, initialise

    pgp = tuple(Path(p.strip()).expanduser() for p in (pgp_keys or "").split(",") if p.strip())
    problems = [
        *_whole("--key-shares", key_shares),
        *_whole("--key-threshold", key_threshold),
        # An empty value would otherwise mean "no operator keys": plain-text shares.
        "--pgp-keys names no key file: give one public key file per share."
        if pgp_keys is not None and not pgp
        else "",
        "--age-recipients names no file: give the file of age recipients."
        if age_recipients is not None and not age_recipients.strip()
        else "",
        "--out names no folder: give the folder for the key files." if not out.strip() else "",
    ]
    raise_if(p for p in problems if p)
    protection = Protection(pgp, Path(age_recipients).expanduser() if age_recipients else None)
    endpoints = _members(c, address, ca_cert, inventory)
    result = initialise(
        endpoints,
        int(key_shares),
        int(key_threshold),
        protection,
        Path(out).expanduser(),
        _prompt_keys,
    )
    _say(f"Initialised {endpoints[0].address}.")
    all_open = _report(result.members)
    for path in result.files:
        _say(f"  {path} (mode 0600)")
    if result.plaintext_keys:
        _say("")
        _say("!" * 78)
        _say(f"!! The unseal keys are in {result.files[0]} IN PLAIN TEXT.")
        _say("!! Move them off this machine NOW: one key to each operator, then delete the file.")
        _say("!" * 78)
    _say("The initial root token is revoked; use the admin token file for vault.plan/apply.")
    if not all_open:
        raise Exit("error: some members are still sealed: run `invoke vault.unseal`.", code=1)


@task(
    iterable=["keys_file"],
    help={
        "address": ADDRESS_HELP,
        "ca_cert": CA_HELP,
        "inventory": INVENTORY_HELP,
        "keys_file": "file (mode 0600) with unseal keys, one per line; repeatable (default: prompt)",
        "age_identity": "age identity file to decrypt .age key files with",
        "reset": "first discard the keys entered so far (by anyone) on every member",
        "json": "print each member's seal state as JSON on stdout, for scripts",
    },
)
def unseal(
    c: Any,
    keys_file: list[str],
    address: str | None = None,
    ca_cert: str | None = None,
    inventory: str | None = None,
    age_identity: str | None = None,
    reset: bool = False,
    json: bool = False,
) -> None:
    """Unseal every member, keeping other key holders' progress; report n/threshold."""
    from kubeprimer.vault.keys import read_key_files
    from kubeprimer.vault.unseal import reachable_status, unseal_all

    endpoints = _members(c, address, ca_cert, inventory)
    statuses = [reachable_status(ep) or {} for ep in endpoints]
    sealed = [s for s in statuses if s.get("sealed")]
    # A follower that has not joined yet knows no threshold; the others do.
    threshold = max(int(s.get("t") or 0) for s in statuses) or 3
    entered = 0 if reset else max((int(s.get("progress") or 0) for s in sealed), default=0)
    if keys_file:
        keys = read_key_files(keys_file, age_identity)
    else:
        keys = _prompt_keys(threshold - entered) if sealed else []
    members = unseal_all(endpoints, keys, reset, _say)
    if json:
        emit_json({"members": [dataclasses.asdict(m) for m in members]})
    if not _report(members):
        raise Exit("error: some members are still sealed (see above).", code=1)


def _server(
    c: Any, address: str | None, ca_cert: str | None, inventory: str | None, token_file: str | None
) -> Any:
    """An authenticated client of the first member that answers (standbys forward to the
    active one); the servers and the CA are found as vault.init finds them."""
    from kubeprimer.vault.connect import Unreachable, authenticated, read_token

    *others, last = _members(c, address, ca_cert, inventory)
    token, source = read_token(token_file)
    for member in others:
        try:
            return authenticated(member, token, source)
        except Unreachable:
            continue
    return authenticated(last, token, source)


def _config(
    c: Any,
    config: str,
    servers: tuple[str | None, str | None, str | None, str | None],
    prune: bool,
    write: bool,
    json: bool,
) -> None:
    """Shared by plan and apply: check the file and the server, print the plan, maybe apply.

    ``servers`` is the tasks' address, ca_cert, inventory and token_file, as _server takes them.
    """
    from kubeprimer.errors import UserError
    from kubeprimer.vault import config as vault_config
    from kubeprimer.vault import plan as planning

    desired, problems = vault_config.check(Path(config).expanduser())
    if prune and not desired.declares_anything():
        problems.append(
            f"--prune with a file that declares nothing would remove every policy, kv-v2 "
            f"mount and secret on the server; check {config}, or drop --prune and list "
            "what to remove under remove:."
        )
    try:
        client = _server(c, *servers)
    except UserError as error:
        if not problems:
            raise
        # The file's own problems are worth fixing while the server is being seen to.
        raise UserError(*problems, *error.messages) from None
    changes = planning.make(client, desired, prune, problems)
    applied = bool(write and changes.changes)
    if not json:
        print(changes.text())
    if applied:
        planning.apply(client, changes)
    if json:
        emit_json({**changes.data(), "applied": applied})
    elif applied:
        print("Applied.")


CONFIG_TASK_HELP = {
    "config": CONFIG_HELP,
    "address": ADDRESS_HELP,
    "ca_cert": CA_HELP,
    "inventory": INVENTORY_HELP,
    "token_file": TOKEN_HELP,
    "prune": PRUNE_HELP,
}


@task(help={**CONFIG_TASK_HELP, "json": JSON_HELP})
def plan(
    c: Any,
    config: str,
    address: str | None = None,
    ca_cert: str | None = None,
    inventory: str | None = None,
    token_file: str | None = None,
    prune: bool = False,
    json: bool = False,
) -> None:
    """Show what vault.apply would change; change nothing."""
    servers = (address, ca_cert, inventory, token_file)
    _config(c, config, servers, prune, write=False, json=json)


@task(help={**CONFIG_TASK_HELP, "json": "print the changes made as JSON on stdout, for scripts"})
def apply(
    c: Any,
    config: str,
    address: str | None = None,
    ca_cert: str | None = None,
    inventory: str | None = None,
    token_file: str | None = None,
    prune: bool = False,
    json: bool = False,
) -> None:
    """Make the server match the configuration file (mounts, policies, roles, secrets)."""
    servers = (address, ca_cert, inventory, token_file)
    _config(c, config, servers, prune, write=True, json=json)


@task(
    name="k8s-auth",
    help={
        "kubeconfig": KUBECONFIG_HELP,
        "mount": "path of the kubernetes auth method (default kubernetes)",
        "namespace": "namespace for the token-reviewer service account (default vault)",
        "address": ADDRESS_HELP,
        "ca_cert": CA_HELP,
        "inventory": INVENTORY_HELP,
        "token_file": TOKEN_HELP,
    },
)
def k8s_auth(
    c: Any,
    kubeconfig: str | None = None,
    mount: str = "kubernetes",
    namespace: str = "vault",
    address: str | None = None,
    ca_cert: str | None = None,
    inventory: str | None = None,
    token_file: str | None = None,
) -> None:
    """Let pods log in: point the kubernetes auth method at the live cluster."""
    from kubeprimer.addons.kube import connect as kube_connect
    from kubeprimer.vault import kubernetes_auth

    vault = _server(c, address, ca_cert, inventory, token_file)
    kube = kube_connect(kubeconfig_path(c, kubeconfig, inventory))
    wiring = kubernetes_auth.configure(vault, kube, mount, namespace)
    for name, action in wiring.objects.items():
        print(f"  {name}: {action}")
    print(
        f"auth/{wiring.mount}/config now points at {wiring.host} and reviews tokens as "
        f"{wiring.namespace}/{wiring.service_account}."
    )


def _confirm_upgrade(yes: bool) -> Any:
    """Show what will restart; go on with --yes or a typed yes on a terminal."""
    from kubeprimer.errors import UserError

    def confirm(lines: list[str]) -> None:
        _say("Members to restart on the new release, one at a time (the active one last):")
        for line in lines:
            _say(f"  {line}")
        if yes:
            return
        if not sys.stdin.isatty():
            raise UserError(
                "vault.upgrade restarts every member and needs confirmation: run it in a "
                "terminal, or add --yes."
            )
        if input("Go on? [y/N] ").strip().lower() not in ("y", "yes"):
            raise UserError("Not confirmed, so nothing was changed; run the task again.")

    return confirm


def _upgrade_keys(keys_file: list[str], age_identity: str | None) -> Any:
    """Unseal keys for the members the upgrade restarts: the files' (read before anything
    changes, so a bad file is found first), else asked once on a terminal, else none."""
    from kubeprimer.vault.keys import read_key_files

    given = read_key_files(keys_file, age_identity) if keys_file else []
    asked: list[str] = []

    def keys(endpoint: Any, status: dict[str, Any]) -> list[str]:
        if given:
            return given
        if not asked and sys.stdin.isatty():
            asked.extend(_prompt_keys(int(status.get("t") or 3) - int(status.get("progress") or 0)))
        return asked

    return keys


@task(
    iterable=["keys_file"],
    help={
        "inventory": INVENTORY_HELP,
        "ca_cert": CA_HELP,
        "token_file": TOKEN_HELP,
        "keys_file": "file (mode 0600) with unseal keys, one per line; repeatable "
        "(default: prompt on a terminal, else stop at the first sealed member)",
        "age_identity": "age identity file to decrypt .age key files with",
        "yes": "go on without asking (needed without a terminal)",
    },
)
def upgrade(
    c: Any,
    keys_file: list[str],
    inventory: str | None = None,
    ca_cert: str | None = None,
    token_file: str | None = None,
    age_identity: str | None = None,
    yes: bool = False,
) -> None:
    """Move Vault/OpenBao to vault_version one member at a time, the leader last.

    A run that stopped (killed, or waiting for an unseal key) is finished by the next.
    """
    from kubeprimer.tasks._common import play_on
    from kubeprimer.vault.connect import read_token
    from kubeprimer.vault.upgrade import Upgrade, target

    inv = load_inventory(c, inventory)
    wanted = target(inv, ca_cert)
    token, source = read_token(token_file)
    keys = _upgrade_keys(keys_file, age_identity)

    def run_host(host: str) -> None:
        try:
            play_on(c, "vault_upgrade.yml", inv, limit=host)
        except Exit as stopped:
            raise Exit(
                f"{stopped.message} {host} may be half-way: fix the cause, then run "
                "`invoke vault.upgrade` again to finish it and go on.",
                code=stopped.code,
            ) from None

    done = Upgrade(wanted, token, source, run_host, keys, _say).run(_confirm_upgrade(yes))
    name = "OpenBao" if wanted.flavor == "openbao" else "Vault"
    if done:
        _say(f"{name} {wanted.version} runs on {', '.join(done)} and every member is unsealed.")
    else:
        _say(f"Every member already runs {name} {wanted.version}, unsealed; nothing to do.")


ns = Collection("vault", install, init, unseal, plan, apply, k8s_auth, upgrade)
