"""Strict YAML reading for every file a user writes: inventories, group_vars, configs.

PyYAML keeps the last of two equal keys without a word; in an inventory that silently
drops a host, so duplicates are an error here. Merge keys (``<<``) are YAML and Ansible
accepts them, so they are too, read exactly as Ansible reads them: the mapping's own keys
win over merged ones, and in ``<<: [a, b]`` b's keys win over a's (PyYAML's order, which
Ansible inherits, though the YAML merge spec says the reverse). Ansible's own
tags are kept: ``!vault`` as a ``Vaulted`` value (decrypted by the inventory reader),
``!unsafe`` as plain text. Every way a file can fail to load is one sentence that names
the file (and the line, where there is one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from kubeprimer.errors import UserError


class Opaque(str):
    """Text Ansible must not template (``!unsafe``); its value is the text itself."""


@dataclass(frozen=True)
class Vaulted:
    """An ``ansible-vault encrypt_string`` value: only its ciphertext is known here."""

    ciphertext: str = field(repr=False)

    def __str__(self) -> str:
        return "<encrypted with ansible-vault>"


class _KeyProblem(yaml.YAMLError):
    """A mapping key that parses but cannot be used; ``text`` ends with what to do."""

    def __init__(self, text: str, mark: yaml.Mark) -> None:
        super().__init__(f"line {mark.line + 1}: {text}")


_MERGE = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # Anchors of the nodes being composed: an alias to one of them is a loop.
        self._open: list[str | None] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise _KeyProblem(
                    f"the alias *{event.anchor} is inside what &{event.anchor} names, so it "
                    "never ends; write the values out instead",
                    cast(yaml.Mark, event.start_mark),
                )
            return super().compose_node(parent, index)
        self._open.append(getattr(event, "anchor", None))
        try:
            return super().compose_node(parent, index)
        finally:
            self._open.pop()

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        own_count = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE)
        self.flatten_mapping(node)
        # flatten_mapping puts merged pairs first; only the mapping's own keys must be
        # unique, as merged ones are there to be overridden.
        own = node.value[len(node.value) - own_count :]
        seen: set[object] = set()
        for key_node, _ in own:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                kind = "mapping" if isinstance(key, dict) else type(key).__name__
                raise _KeyProblem(
                    f"a key is a {kind}; write keys as plain names (a host, group or setting name)",
                    key_node.start_mark,
                ) from None
            if duplicate:
                raise _KeyProblem(
                    f"duplicate key {key!r}; a key must appear only once per mapping",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _vaulted(loader: yaml.SafeLoader, node: yaml.Node) -> Vaulted:
    if not isinstance(node, yaml.ScalarNode):
        raise _KeyProblem(
            "!vault must tag the text ansible-vault encrypt_string printed", node.start_mark
        )
    return Vaulted(loader.construct_scalar(node))


def _tagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return Opaque(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("!vault", _vaulted)
_Loader.add_multi_constructor("!", _tagged)


def text_of(path: Path) -> str:
    """A user's file as text; a missing, unreadable or non-UTF-8 file is one sentence."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; check the path.") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder, not a file; give the file's path.") from None
    except PermissionError:
        raise UserError(
            f"{path} cannot be read (permission denied); check its permissions."
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise UserError(
            f"{path} is not UTF-8 text (byte 0x{raw[error.start]:02x} on line {line}); "
            "save it as UTF-8."
        ) from None


def parse(text: str, path: Path) -> Any:
    """YAML ``text`` read from ``path``, parsed strictly (see the module docstring)."""
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader subclass
    except _KeyProblem as error:
        raise UserError(f"{path} {error}.") from None
    except RecursionError:
        # PyYAML recurses once per level; thousands of [ or { exhaust Python's stack.
        raise UserError(
            f"{path} is nested too deeply to read; flatten its lists and mappings."
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise UserError(
            f"{path}:{where} is not valid YAML ({problem}); fix the syntax there."
        ) from None


def read(path: Path) -> Any:
    """Parse one YAML (or JSON) file, turning every way it can fail into one sentence."""
    return parse(text_of(path), path)
