#!/usr/bin/python
"""Download files in one module run, each checked against its sha256: pinned, or read
from the checksum file published beside it. Every role that downloads uses it.

One run instead of a get_url per file: on a converged host, or one whose source is
unreachable, each extra module run costs more than the work it does. The proxy is an
argument: as a task's environment, Ansible puts it (and a password in its URL) on the
command line of the host and of the controller.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from urllib.error import HTTPError
from urllib.parse import urlparse

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

DOCUMENTATION = r"""
module: checked_download
short_description: Download files and check each against its sha256
description:
  - Creates I(directories), then for each of I(files) finds its sha256 (its C(checksum),
    else the file at C(url + checksum_suffix)), keeps a file already in place whose sha256
    matches, and otherwise downloads it, checks it and moves it into place. A file that
    does not match is never put in place.
  - Never fails by itself; the files it could not get are returned in C(failures), so the
    caller can say in one sentence what to fix.
options:
  directories:
    description: Folders to create (root-owned, mode 0755) before downloading.
    type: list
    elements: path
    default: []
  files:
    description:
      - Each file by name, as C(url), C(dest), C(mode) and optionally C(checksum), as
        get_url takes it (C(sha256:<hex>), or C(sha256:<url>) of a checksum list that
        names the file).
    type: dict
    required: true
  checksum_suffix:
    description: Appended to each URL to find its checksum file.
    type: str
    default: .sha256
  timeout:
    description: Seconds to wait for each request.
    type: int
    default: 30
  proxy:
    description:
      - C(http_proxy), C(https_proxy) and C(no_proxy) for the downloads (loopback is
        always direct). An argument, not
        the task's C(environment), which Ansible puts on the remote command line, where
        any user of the host (and of the controller) would read a proxy password in C(ps).
    type: dict
    default: {}
"""

RETURN = r"""
failures:
  description: The files not installed, each with C(name), C(url), C(msg) and C(corrupt).
  type: list
  returned: always
"""


def published_sum(text: str, filename: str) -> str:
    """The sha256 in a checksum file: its only entry, or the line naming the file."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if len(lines) == 1:
        return lines[0][0].lower()
    for fields in lines:
        if len(fields) > 1 and os.path.basename(fields[1].lstrip("*")) == filename:
            return fields[0].lower()
    raise ValueError(f"no checksum for {filename} in the published checksum file")


def wanted_sum(item: dict[str, str], timeout: int, suffix: str) -> str:
    """The sha256 the file must have: pinned in C(checksum), or published."""
    algorithm, _, value = str(item.get("checksum") or "").partition(":")
    if algorithm and algorithm != "sha256":
        raise ValueError(f"checksum {algorithm}: only sha256 is supported")
    if value and "://" not in value:
        return value.strip().lower()
    text = open_url(value or item["url"] + suffix, timeout=timeout).read().decode()
    return published_sum(text, os.path.basename(item["url"]))


def sha256_of(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError:
        return None


def download(url: str, dest: str, timeout: int) -> tuple[str, str]:
    """Fetch url beside dest; returns the temporary file's path and its sha256."""
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".kubeprimer-")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            response = open_url(url, timeout=timeout)
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary, digest.hexdigest()


def root_owned(path: str, mode: int) -> bool:
    info = os.stat(path)
    return (info.st_mode & 0o7777, info.st_uid, info.st_gid) == (mode, 0, 0)


def make_root_owned(path: str, mode: int) -> None:
    os.chown(path, 0, 0)
    os.chmod(path, mode)


def place(item: dict[str, str], timeout: int, suffix: str, check: bool) -> bool:
    """Put one file in place; True when something changed (or would, in check mode).
    Raises on failure. Check mode still reads the published checksum: it only
    downloads nothing, so an unreachable source shows in cluster.plan too."""
    dest, mode = item["dest"], int(str(item["mode"]), 8)
    wanted = wanted_sum(item, timeout, suffix)
    current = sha256_of(dest)
    if current == wanted and root_owned(dest, mode):
        return False
    if check:
        return True
    if current != wanted:
        temporary, got = download(item["url"], dest, timeout)
        if got != wanted:
            os.unlink(temporary)
            raise ChecksumMismatch(f"checksum mismatch: published {wanted}, downloaded {got}")
        os.replace(temporary, dest)
    make_root_owned(dest, mode)
    return True


class ChecksumMismatch(Exception):
    pass


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "directories": {"type": "list", "elements": "path", "default": []},
            "files": {"type": "dict", "required": True},
            "checksum_suffix": {"type": "str", "default": ".sha256"},
            "timeout": {"type": "int", "default": 30},
            "proxy": {"type": "dict", "default": {}, "no_log": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    # urllib reads the proxy from the environment of this process only.
    os.environ.update({key: str(value) for key, value in p["proxy"].items() if value})
    if os.environ.get("http_proxy") or os.environ.get("https_proxy"):
        # Loopback never goes through the proxy; an internal mirror belongs in no_proxy.
        loopback = ["localhost", "127.0.0.1", "::1"]
        given = [h for h in os.environ.get("no_proxy", "").split(",") if h]
        os.environ["no_proxy"] = ",".join(given + [h for h in loopback if h not in given])
    changed = False
    check = module.check_mode
    for folder in p["directories"]:
        if not os.path.isdir(folder):
            changed = True
            if check:
                continue
            os.makedirs(folder)
        if not root_owned(folder, 0o755):
            changed = True
            if not check:
                make_root_owned(folder, 0o755)
    failures = []
    # A source that did not answer is not asked again for the next file: behind a
    # firewall that drops packets, each attempt would wait the whole timeout.
    silent: dict[str, str] = {}
    files = [{"name": name, **spec} for name, spec in p["files"].items()]
    for item in files:
        source = urlparse(item["url"]).netloc
        if source in silent:
            msg = f"not tried: {source} did not answer for {silent[source]}"
            failures.append({**item, "msg": msg, "corrupt": False})
            continue
        try:
            changed = place(item, p["timeout"], p["checksum_suffix"], check) or changed
        except ChecksumMismatch as error:
            failures.append({**item, "msg": str(error), "corrupt": True})
        except Exception as error:  # urllib, TLS and socket errors alike
            failures.append({**item, "msg": f"Request failed: {error}", "corrupt": False})
            if not isinstance(error, HTTPError):
                silent[source] = item["name"]
    module.exit_json(changed=changed, failures=failures)


if __name__ == "__main__":
    main()
