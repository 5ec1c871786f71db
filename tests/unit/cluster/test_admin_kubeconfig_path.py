"""Where cluster.up says the admin kubeconfig is: where the kubeadm role fetches it."""

from __future__ import annotations

from pathlib import Path

import yaml

from kubeprimer.cluster.kubeconfig import admin_kubeconfig
from kubeprimer.inventory import load
from kubeprimer.paths import ROLES

HOSTS = {
    "all": {"children": {"kube_control_plane": {"hosts": {"cp1": {"ansible_host": "10.0.0.1"}}}}}
}


def inventory(folder: Path, all_vars: dict[str, object]) -> Path:
    (folder / "group_vars").mkdir(parents=True)
    (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(all_vars))
    (folder / "hosts.yml").write_text(yaml.safe_dump(HOSTS))
    return folder / "hosts.yml"


def test_default_is_beside_the_inventory(tmp_path: Path) -> None:
    inv = load(inventory(tmp_path, {}))
    assert admin_kubeconfig(inv) == tmp_path / "artifacts" / "admin.conf"


def test_default_matches_the_kubeadm_role() -> None:
    defaults = yaml.safe_load((ROLES / "kubeadm" / "defaults" / "main.yml").read_text())
    assert defaults["kubeadm_admin_kubeconfig"].endswith("}}/artifacts/admin.conf")


def test_inventory_setting_wins(tmp_path: Path) -> None:
    absolute = load(inventory(tmp_path / "a", {"kubeadm_admin_kubeconfig": "/srv/k/admin.conf"}))
    assert admin_kubeconfig(absolute) == Path("/srv/k/admin.conf")
    relative = load(inventory(tmp_path / "r", {"kubeadm_admin_kubeconfig": "creds/admin.conf"}))
    assert admin_kubeconfig(relative) == tmp_path / "r" / "creds" / "admin.conf"
