"""The download module every role uses lives in plugins/modules/, outside the roles: a
change to it must still make converged cluster.up stages run again."""

from __future__ import annotations

from kubeprimer.ansible.fingerprint import input_files
from kubeprimer.paths import PLUGINS, ROOT


def test_the_download_module_is_an_input_of_the_converge_fingerprint() -> None:
    module = PLUGINS / "modules" / "checked_download.py"
    assert module.is_file()
    assert module in input_files([PLUGINS])
    assert not (ROOT / "roles" / "kube_artifacts" / "library").exists(), "one copy only"
