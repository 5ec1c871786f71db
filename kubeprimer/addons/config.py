"""An addon's effective settings: its defaults overlaid with the inventory's.

The inventory sets them either as one dict, ``addons_<name>: {key: value}``, or as
flat variables, ``addons_<name>_<key>: value`` (flat wins). Each value must have the
type of its default and one of its ``choices``; then the addon's own ``checks``
(Jinja expressions in addon.yml) run. Every problem is one sentence, all reported at
once, before anything is rendered or applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeprimer.addons.catalog import Addon, all_addons
from kubeprimer.addons.templating import evaluate, render_text
from kubeprimer.errors import raise_if
from kubeprimer.inventory.vaulted import Locked, locked_message

_TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
_TYPE_NAMES |= {list: "a list", dict: "a mapping"}


@dataclass(frozen=True)
class Resolved:
    """What rendering needs: the addon, its merged settings, and the cluster-wide ones."""

    addon: Addon
    settings: dict[str, Any]
    cluster: dict[str, Any]
    warnings: tuple[str, ...] = ()


def _type_ok(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _overrides(addon: Addon, cluster: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The inventory's values for this addon, and sentences about ones it cannot use."""
    problems: list[str] = []
    nested = cluster.get(addon.prefix) or {}
    if not isinstance(nested, dict):
        return {}, [f"{addon.prefix} must be a mapping of setting names to values."]
    values = dict(nested)
    # A longer prefix belongs to another addon (addons_vault_ vs addons_vault_injector_).
    others = [
        a.prefix + "_" for a in all_addons(addon.path.parent, None) if a.prefix != addon.prefix
    ]
    for key, value in cluster.items():
        if key.startswith(addon.prefix + "_") and not any(key.startswith(o) for o in others):
            values[key[len(addon.prefix) + 1 :]] = value
    for key in sorted(set(values) - set(addon.settings)):
        known = ", ".join(sorted(addon.settings)) or "none"
        problems.append(
            f"{addon.prefix}_{key} is not a setting of {addon.name} (settings: {known})."
        )
    return {k: v for k, v in values.items() if k in addon.settings}, problems


def _problems_with_values(addon: Addon, settings: dict[str, Any]) -> list[str]:
    problems = []
    for key, spec in addon.settings.items():
        value, var = settings[key], f"{addon.prefix}_{key}"
        if isinstance(value, Locked):
            problems.append(locked_message(var))
        elif not _type_ok(value, spec.default):
            kind = _TYPE_NAMES.get(type(spec.default), type(spec.default).__name__)
            problems.append(f"{var} must be {kind}, not {value!r}.")
        elif spec.choices and value not in spec.choices:
            choices = ", ".join(str(c) for c in spec.choices)
            problems.append(f"{var} is {value!r}; set it to one of {choices}.")
    return problems


def settings_of(addon: Addon, cluster: dict[str, Any]) -> dict[str, Any]:
    """``addon``'s defaults overlaid with the inventory's values, each of the right type."""
    overrides, problems = _overrides(addon, cluster)
    settings = {k: s.default for k, s in addon.settings.items()} | overrides
    raise_if(problems + _problems_with_values(addon, settings))
    return settings


def resolve(addon: Addon, cluster: dict[str, Any]) -> Resolved:
    """Merged, checked settings for ``addon``; a UserError lists every problem."""
    settings = settings_of(addon, cluster)
    # The addon's own checks see well-typed values only, so their conditions stay simple.
    context = {"settings": settings, "cluster": cluster, "addon": addon}
    raise_if(_firing(addon.checks, context))
    return Resolved(addon, settings, cluster, tuple(_firing(addon.warnings, context)))


def _firing(rules: tuple[dict[str, str], ...], context: dict[str, Any]) -> list[str]:
    """The messages of the rules whose condition holds."""
    return [render_text(r["message"], context) for r in rules if evaluate(r["when"], context)]
