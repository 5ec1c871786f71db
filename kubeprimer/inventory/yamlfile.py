"""Strict YAML reading for inventories.

PyYAML keeps the last of two equal keys without a word; in an inventory that
silently drops a host, so duplicates are an error here. Ansible's own tags
(``!vault``, ``!unsafe``) are accepted as opaque values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kubeprimer.errors import UserError


class Opaque(str):
    """A value Ansible decrypts or protects at run time; never inspected here."""


class DuplicateKey(yaml.YAMLError):
    def __init__(self, key: object, mark: yaml.Mark | None) -> None:
        line = f" on line {mark.line + 1}" if mark else ""
        super().__init__(f"{key!r} appears twice{line}")
        self.key = key


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        assert isinstance(node, yaml.MappingNode)
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise DuplicateKey(key, key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _opaque(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Opaque:
    return Opaque(loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else "")


_Loader.add_multi_constructor("!", _opaque)


def read(path: Path) -> Any:
    """Parse one YAML file, turning every way it can fail into one actionable sentence."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; pass an existing inventory with -i.") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise UserError(
            f"{path} cannot be read ({error.__class__.__name__}); check the path and its permissions."
        ) from None
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader subclass
    except DuplicateKey as error:
        raise UserError(
            f"{path}: {error}; a key (host or setting) must appear only once per mapping."
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise UserError(
            f"{path}:{where} is not valid YAML ({problem}); fix the syntax there."
        ) from None
