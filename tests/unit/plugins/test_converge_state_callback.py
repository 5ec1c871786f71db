"""plugins/callback/converge_state.py: which resources a task result says it manages."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.plugins.loader import load

cb = load("callback/converge_state.py")


def invoked(**args: Any) -> dict[str, Any]:
    return {"changed": False, "invocation": {"module_args": args}}


def test_files_come_from_the_result_or_the_module_arguments() -> None:
    assert cb.resources_of("ansible.builtin.template", {"dest": "/etc/a.conf"}, {}) == [
        "file:/etc/a.conf"
    ]
    assert cb.resources_of("ansible.builtin.blockinfile", invoked(path="/etc/hosts"), {}) == [
        "file:/etc/hosts"
    ]
    key = {"filename": "/pki/ca.key"}
    assert cb.resources_of("community.crypto.openssl_privatekey", key, {}) == ["file:/pki/ca.key"]


def test_modules_that_only_read_a_path_manage_nothing() -> None:
    for action in ("ansible.builtin.stat", "ansible.builtin.slurp", "ansible.builtin.find"):
        assert cb.resources_of(action, invoked(path="/etc/fstab"), {}) == []


def test_packages_units_modules_and_users_are_named() -> None:
    apt = invoked(name=["containerd=1.6.20~ds1-1+b1", "socat"])
    assert cb.resources_of("ansible.builtin.apt", apt, {}) == [
        "package:containerd",
        "package:socat",
    ]
    unit = invoked(name="containerd", state="started")
    assert cb.resources_of("ansible.builtin.systemd_service", unit, {}) == ["unit:containerd"]
    assert cb.resources_of("community.general.modprobe", invoked(name="overlay"), {}) == [
        "kmod:overlay"
    ]
    assert cb.resources_of("ansible.builtin.user", invoked(name="etcd"), {}) == ["user:etcd"]


def test_a_command_that_changed_nothing_is_replayed_as_a_probe() -> None:
    found = cb.resources_of("ansible.builtin.command", invoked(_raw_params="sysctl -n a b"), {})
    assert [json.loads(r.removeprefix("probe:")) for r in found] == [
        {"args": ["sysctl", "-n", "a", "b"], "shell": False, "chdir": None}
    ]


def test_commands_that_change_something_or_depend_on_a_file_are_not_probes() -> None:
    changed = {**invoked(_raw_params="swapoff --all"), "changed": True}
    assert cb.resources_of("ansible.builtin.command", changed, {}) == []
    guarded = invoked(_raw_params="kubeadm init", creates="/etc/kubernetes/admin.conf")
    assert cb.resources_of("ansible.builtin.command", guarded, {}) == []


def test_a_module_managing_several_files_lists_them() -> None:
    result = {"managed_files": ["/usr/local/bin", "/usr/local/bin/kubeadm"]}
    assert cb.resources_of("kube_artifacts_fetch", result, {}) == [
        "file:/usr/local/bin",
        "file:/usr/local/bin/kubeadm",
    ]
