"""kubeprimer/ansible/fingerprint.py: what makes converged stages run again."""

from __future__ import annotations

from pathlib import Path

from kubeprimer.ansible.fingerprint import fingerprint, input_files


def inventory(tmp_path: Path) -> Path:
    hosts = tmp_path / "hosts.yml"
    hosts.write_text("all:\n  hosts:\n    node-1:\n")
    (tmp_path / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "group_vars" / "all" / "main.yml").write_text("kube_cni: flannel\n")
    return hosts


def test_the_same_inputs_give_the_same_fingerprint(tmp_path: Path) -> None:
    hosts = inventory(tmp_path)
    assert fingerprint(hosts) == fingerprint(hosts)


def test_an_inventory_variable_change_changes_it(tmp_path: Path) -> None:
    hosts = inventory(tmp_path)
    before = fingerprint(hosts)
    (tmp_path / "group_vars" / "all" / "main.yml").write_text("kube_cni: calico\n")
    assert fingerprint(hosts) != before


def test_extra_variables_change_it(tmp_path: Path) -> None:
    hosts = inventory(tmp_path)
    assert fingerprint(hosts, {"kube_version": "1.36.2"}) != fingerprint(hosts)


def test_files_in_hidden_folders_do_not_count(tmp_path: Path) -> None:
    hosts = inventory(tmp_path)
    before = fingerprint(hosts)
    (tmp_path / "group_vars" / ".cache").mkdir()
    (tmp_path / "group_vars" / ".cache" / "x").write_text("state, not input")
    assert fingerprint(hosts) == before


def test_tests_and_documentation_do_not_count(tmp_path: Path) -> None:
    role = tmp_path / "roles" / "containerd"
    for name in ("tasks/main.yml", "molecule/default/converge.yml", "README.md"):
        (role / name).parent.mkdir(parents=True, exist_ok=True)
        (role / name).write_text("x")
    assert input_files([tmp_path / "roles"]) == [role / "tasks" / "main.yml"]
