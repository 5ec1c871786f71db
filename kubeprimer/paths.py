"""Where the toolkit's own files live: everything is relative to the checkout."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ROOT / "playbooks"
ROLES = ROOT / "roles"
PLUGINS = ROOT / "plugins"
ADDONS = ROOT / "addons"
INVENTORIES = ROOT / "inventories"
ANSIBLE_CFG = ROOT / "ansible.cfg"
