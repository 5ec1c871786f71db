"""cluster.rotate-encryption-key's steps on three stand-in control planes (mount
namespaces, as in test_kubeadm_apiserver_rolling_restart_fake_crictl.py: the same hosts,
tests/doubles/fake-crictl for crictl and a fake /readyz per host), driven by the task's
own step runner (kubeprimer.cluster.encryption.run) with the real playbook
(playbooks/rotate_encryption_key.yml) and the FakeKubeApi double
(tests/doubles/fake_kube_api.py) for the Secret rewrite. The double encrypts with the
first key of cp1's configuration, as the API servers would once restarted.

Checked: the configuration on every control plane after each step (the new key second,
then first, then alone; the inventory's provider for the new key), one API server
restart at a time each ready before the next, every Secret rewritten under the new key
before the old key goes, a step that stops half-way resumed by the next run with the
same key, the key never in Ansible's output, a second run of the last step changes
nothing, and a step with a key no control plane has changes nothing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from invoke import Exit

from kubeprimer.addons import kube
from kubeprimer.cluster import encryption, encryption_record
from kubeprimer.inventory import load
from kubeprimer.paths import PLAYBOOKS
from tests.doubles.fake_kube_api import FakeKubeApi

from .conftest import recap
from .test_kubeadm_apiserver_rolling_restart_fake_crictl import HOSTS, ControlPlanes, planes

pytestmark = pytest.mark.integration
__all__ = ["planes"]  # the stand-in control planes fixture, reused

CONFIG = "/etc/kubernetes/encryption/config.yaml"
PLAYBOOK = PLAYBOOKS / encryption.PLAYBOOK


def keys_on(planes: ControlPlanes, host: str) -> list[tuple[str, str]]:
    """(provider, key name) in the order of the host's configuration."""
    config = yaml.safe_load(planes.hosts[host].read(CONFIG))
    (entry,) = config["resources"]
    *providers, identity = entry["providers"]
    assert identity == {"identity": {}}
    return [
        (p, k["name"]) for provider in providers for p, s in provider.items() for k in s["keys"]
    ]


def secret_on(planes: ControlPlanes, host: str, name: str) -> str:
    config = yaml.safe_load(planes.hosts[host].read(CONFIG))
    for provider in config["resources"][0]["providers"]:
        for settings in provider.values():
            for key in (settings or {}).get("keys", []):
                if key["name"] == name:
                    return str(key["secret"])
    raise AssertionError(f"{host} has no key {name}")


def everywhere(keys: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    return {host: keys for host in HOSTS}


def one_at_a_time(planes: ControlPlanes, since: dict[str, int]) -> list[str]:
    """The hosts restarted since ``since`` (stops per host), checked never to overlap."""
    restarted = [h for h in HOSTS if len(planes.stops(h)) > since[h]]
    order = sorted(restarted, key=lambda h: planes.stops(h)[-1]["time"])
    for before, after in itertools.pairwise(order):
        assert planes.ready_at[before][-1] <= planes.stops(after)[-1]["time"], (before, after)
    return order


def test_a_rotation_moves_every_secret_to_a_new_key_one_api_server_at_a_time(
    planes: ControlPlanes, tmp_path: Path
) -> None:
    # cluster.up's encryption configuration: key1, secretbox, the same on every host.
    setup = planes.play()
    assert setup.returncode == 0, setup.stdout[-4000:]
    assert {h: keys_on(planes, h) for h in HOSTS} == everywhere([("secretbox", "key1")])

    api = FakeKubeApi()
    for namespace, name in [("default", "db"), ("kube-system", "token"), ("apps", "tls")]:
        api._put("v1", "Secret", {"metadata": {"name": name, "namespace": namespace}})
    logs: list[str] = []
    seen: dict[str, dict[str, list[tuple[str, str]]]] = {}
    restarts: dict[str, list[str]] = {}

    def play(extravars: dict[str, Any]) -> None:
        step = extravars["kubeprimer_encryption_step"]
        before = {h: len(planes.stops(h)) for h in HOSTS}
        # The inventory asks for aescbc now: the new key uses it, the old one keeps its own.
        run = planes.play(PLAYBOOK, kubeadm_encryption_provider="aescbc", **extravars)
        logs.append(run.stdout + run.stderr)
        restarts[step] = one_at_a_time(planes, before)
        if run.returncode != 0:
            raise Exit(f"{PLAYBOOK.name} did not complete.", code=2)
        seen[step] = {h: keys_on(planes, h) for h in HOSTS}
        api.encryption_key = keys_on(planes, "cp1")[0][1]

    inventory = load(planes.workdir / "hosts.yml")
    runs = tmp_path / "runs"
    chosen = encryption.plan(inventory, runs, new=False, now=datetime.now(UTC))
    rotation = chosen.rotation
    assert rotation is not None and rotation.steps == ("learn", "use", "rewrite", "drop")
    new = rotation.key

    with api.serve(tmp_path) as kubeconfig:
        # cp2 does not come back after the use step's restart: the run stops there.
        def breaking(extravars: dict[str, Any]) -> None:
            if extravars["kubeprimer_encryption_step"] == "use":
                planes.broken.add("cp2")
            else:
                planes.broken.clear()
            play(extravars)

        with pytest.raises(Exit, match="again to resume at this step \\(use\\)"):
            encryption.run(rotation, inventory, breaking, lambda: kube.connect(kubeconfig), print)
        assert restarts["learn"] == ["cp1", "cp2", "cp3"]
        assert seen["learn"] == everywhere([("secretbox", "key1"), ("aescbc", new)])
        assert restarts["use"] == ["cp1", "cp2"]  # cp3 waits for cp2
        assert api.replaced == {}  # nothing rewritten while an API server may not know the key
        kept = encryption_record.load(runs, inventory.path)
        assert kept is not None and kept.done == ["learn"] and kept.key == new

        # Fixed, the next run resumes at use with the same key: cp2 and cp3 restart.
        planes.broken.clear()
        encryption.run(kept, inventory, play, lambda: kube.connect(kubeconfig), print)

    assert restarts["use"] == ["cp2", "cp3"]
    assert seen["use"] == everywhere([("aescbc", new), ("secretbox", "key1")])
    assert restarts["drop"] == ["cp1", "cp2", "cp3"]
    assert seen["drop"] == everywhere([("aescbc", new)])
    # Every Secret was rewritten, once, under the new key, before the old key went.
    secrets = {ref: n for ref, n in api.replaced.items() if ref.startswith("secrets/")}
    assert sorted(secrets) == [
        "secrets/apps/tls",
        "secrets/default/db",
        "secrets/kube-system/token",
    ]
    assert set(secrets.values()) == {1}
    assert {k for ref, k in api.encrypted_with.items() if ref.startswith("secrets/")} == {new}
    finished = encryption_record.load(runs, inventory.path)
    assert finished is not None and finished.finished

    # One 32-byte key, the same on every host, in a 0600 file, never in Ansible's output.
    secret = secret_on(planes, "cp1", new)
    assert len(__import__("base64").b64decode(secret)) == 32
    for host in HOSTS:
        assert secret_on(planes, host, new) == secret
        assert planes.hosts[host].mode(CONFIG) == "600"
    assert not [log for log in logs if secret in log]

    # The last step again: nothing to do, nothing restarted.
    before = {h: len(planes.stops(h)) for h in HOSTS}
    again = planes.play(
        PLAYBOOK,
        kubeadm_encryption_provider="aescbc",
        kubeprimer_encryption_step="drop",
        kubeprimer_encryption_key_name=new,
    )
    assert again.returncode == 0, again.stdout[-4000:]
    assert {h: r["changed"] for h, r in recap(again.stdout).items()} == dict.fromkeys(HOSTS, 0)
    assert {h: len(planes.stops(h)) for h in HOSTS} == before

    # A later step with a key no control plane has (a record from before the cluster was
    # made again) changes nothing and says to start a new rotation.
    files = {h: planes.hosts[h].read(CONFIG) for h in HOSTS}
    gone = planes.play(
        PLAYBOOK, kubeprimer_encryption_step="use", kubeprimer_encryption_key_name="key-gone"
    )
    assert gone.returncode != 0
    assert "No control plane has the key key-gone" in gone.stdout, gone.stdout[-4000:]
    assert "--new" in gone.stdout
    assert {h: planes.hosts[h].read(CONFIG) for h in HOSTS} == files
