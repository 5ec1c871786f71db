"""Credentials in URLs are masked wherever kubeprimer keeps or shows text.

A proxy or mirror URL may carry ``user:password@``; the hosts need it as written, but
the run log, the live progress, diffs, the recap and error messages never do.
``http://user:pass@proxy:3128`` becomes ``http://user:***@proxy:3128``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

MASK = "***"
# scheme://user:password@host: the password runs to the last @ before the host, so an
# unencoded @ in it is masked too; whitespace, quotes, backslashes (JSON escapes) and
# slashes cannot be in userinfo, so they end the match.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@\"'\\]*:)[^\s/\"'\\]+@")


def text(value: str) -> str:
    """``value`` with the password of every URL in it masked."""
    if "://" not in value or "@" not in value:
        return value
    return _USERINFO.sub(lambda m: m["head"] + MASK + "@", value)


def url(value: str) -> str:
    """A single URL as given by a user, masked even when its scheme is missing or wrong
    (``user:pass@proxy:3128``), for messages that quote a setting back."""
    masked = text(value)
    if "@" not in masked or "://" in masked:
        return masked
    return f"{MASK}@{masked.rsplit('@', 1)[1]}"


def data(value: Any) -> Any:
    """Strings inside dicts and lists masked in place (an event must stay one object);
    the masked value is returned for convenience."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = data(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = data(item)
    return value


def folder(path: Path) -> None:
    """Mask every text file under ``path`` (a run's folder) in place."""
    for file in path.rglob("*"):
        if not file.is_file() or file.is_symlink():
            continue
        raw = file.read_bytes()
        if b"://" not in raw or b"@" not in raw:
            continue
        try:
            before = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        after = text(before)
        if after != before:
            file.write_text(after, encoding="utf-8")
