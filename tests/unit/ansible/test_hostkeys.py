"""Host keys beside the inventory: the ssh options every run uses, the line for a key
recorded on first contact and the sentence for a refused one."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kubeprimer.ansible import hostkeys
from kubeprimer.errors import UserError

# What ssh (OpenSSH 9.2) printed, through Ansible, for a lab node whose key was replaced.
CHANGED = """Failed to connect to the host via ssh: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Offending ED25519 key in /site/inv/known_hosts:2
  remove with:
  ssh-keygen -f "/site/inv/known_hosts" -R "{entry}"
Host key for {entry} has changed and you have requested strict checking.
Host key verification failed."""
KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIEcf1x8KLoWEdRthWUkHbAkzOHS8s+Lc0eelphFGI9H/"


def test_known_hosts_lies_beside_the_inventory(tmp_path: Path) -> None:
    assert hostkeys.known_hosts(tmp_path / "hosts.yml") == tmp_path.resolve() / "known_hosts"
    assert hostkeys.known_hosts(tmp_path) == tmp_path.resolve() / "known_hosts"


def test_ssh_args_check_keys_against_that_file_and_hand_it_to_a_bastion(tmp_path: Path) -> None:
    args = shlex.split(hostkeys.ssh_args(tmp_path / "hosts.yml", tmp_path / "runs"))
    known = tmp_path.resolve() / "known_hosts"
    assert args[:4] == [
        "-o",
        f"UserKnownHostsFile={known}",
        "-o",
        "StrictHostKeyChecking=accept-new",
    ]
    assert "StrictHostKeyChecking=no" not in args and "UserKnownHostsFile=/dev/null" not in args
    config = Path(args[args.index("-F") + 1]).read_text()
    assert f'UserKnownHostsFile "{known}"' in config
    assert "StrictHostKeyChecking accept-new" in config
    # The user's and the system's own settings still apply after ours.
    assert config.index("StrictHostKeyChecking") < config.index("Include ~/.ssh/config")


def test_a_refused_key_names_the_host_and_the_command_that_accepts_a_new_one(
    tmp_path: Path,
) -> None:
    refusals = hostkeys.Refusals(tmp_path / "known_hosts", {"10.1.0.12": "w1"})
    refusals.note(
        {
            "event": "runner_on_unreachable",
            "event_data": {"host": "w1", "res": {"msg": CHANGED.format(entry="10.1.0.12")}},
        }
    )
    refusals.note(
        {
            "event": "runner_on_unreachable",
            "event_data": {"host": "w2", "res": {"msg": "ssh: connect to host: No route to host"}},
        }
    )
    [sentence] = refusals.sentences()
    assert sentence.startswith("The SSH host key of w1 (10.1.0.12) differs")
    assert f"`ssh-keygen -R 10.1.0.12 -f {tmp_path / 'known_hosts'}`" in sentence


def test_a_refused_bastion_key_is_named_as_the_bastion(tmp_path: Path) -> None:
    message = CHANGED.format(entry="[10.1.0.5]:2222")
    sentence = hostkeys.sentence("w1", message, tmp_path / "known_hosts", {"10.1.0.12": "w1"})
    assert "The SSH host key of [10.1.0.5]:2222, on the way to w1, differs" in sentence
    assert "ssh-keygen -R '[10.1.0.5]:2222'" in sentence


def test_first_contact_is_reported_with_the_fingerprint(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"10.1.0.11 ssh-ed25519 {KEY}\n")
    before = hostkeys.entries(known)
    with known.open("a") as handle:
        handle.write(f"10.1.0.12 ssh-ed25519 {KEY}\n")
    [line] = hostkeys.recorded_lines(known, before, {"10.1.0.12": "w1"})
    assert line.startswith("Recorded the SSH host key of w1 (10.1.0.12) in")
    assert "SHA256:T5JFl9WvMvtUTM1CQfzjRDZZ5RI66HQ3BGT1aAoQKd8" in line


def test_hand_runs_get_the_same_options(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kubeprimer.ansible.sshargs", str(tmp_path / "hosts.yml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"UserKnownHostsFile={tmp_path.resolve() / 'known_hosts'}" in done.stdout
    assert "-F " in done.stdout
    assert not done.stderr


def test_the_check_covers_the_hosts_a_playbook_reaches(tmp_path: Path) -> None:
    (tmp_path / "inner.yml").write_text("- hosts: vault\n  tasks: []\n")
    playbook = tmp_path / "site.yml"
    playbook.write_text(
        "- hosts: etcd:!kube_control_plane:!kube_node\n  tasks: []\n"
        "- hosts: kube_control_plane[0]\n  tasks: []\n"
        "- hosts: [storage, etcd]\n  tasks: []\n"
        "- import_playbook: inner.yml\n"
    )
    assert hostkeys.reached_hosts(playbook) == "etcd,kube_control_plane,storage,vault"
    playbook.write_text('- hosts: "{{ target }}"\n  tasks: []\n')
    assert hostkeys.reached_hosts(playbook) == "all"


def test_an_inventory_replacing_the_ssh_options_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(
        "all:\n  hosts:\n    n1: {ansible_host: 10.1.0.11, ansible_ssh_args: -o StrictHostKeyChecking=no}\n"
    )
    with pytest.raises(UserError, match=r"n1 set ansible_ssh_args.*ansible_ssh_common_args"):
        hostkeys.entry_names(tmp_path / "hosts.yml")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"10.1.0.11 ssh-ed25519 \xff\xfe\n", "is not UTF-8 text"), (None, "is a folder")],
)
def test_a_known_hosts_that_is_not_text_is_one_sentence(
    tmp_path: Path, content: bytes | None, fragment: str
) -> None:
    known = tmp_path / "known_hosts"
    if content is None:
        known.mkdir()
    else:
        known.write_bytes(content)
    with pytest.raises(UserError, match=fragment):
        hostkeys.entries(known)


def test_a_host_a_read_only_file_lacks_is_named_with_the_fix(tmp_path: Path) -> None:
    # What ssh (OpenSSH 9.2) printed, through Ansible, in strict mode for a host not in the file.
    message = (
        "Failed to connect to the host via ssh: No ED25519 host key is known for "
        "[10.1.0.13]:2222 and you have requested strict checking.\r\n"
        "Host key verification failed."
    )
    assert hostkeys.refused(message)
    sentence = hostkeys.sentence(
        "w3", message, tmp_path / "known_hosts", {"[10.1.0.13]:2222": "w3"}
    )
    assert sentence == (
        f"The SSH host key of w3 ([10.1.0.13]:2222) is not in {tmp_path / 'known_hosts'}, which "
        "kubeprimer cannot write to record it on first contact: make the file (or its folder) "
        "writable, or add the host's key to it yourself, and run again."
    )


@pytest.mark.parametrize("connection", ["paramiko", "ansible.builtin.paramiko_ssh", "libssh"])
def test_an_ssh_library_that_ignores_the_file_is_refused(tmp_path: Path, connection: str) -> None:
    (tmp_path / "hosts.yml").write_text(
        f"all:\n  hosts:\n    n1: {{ansible_host: 10.1.0.11, ansible_connection: {connection}}}\n"
        "    n2: {ansible_host: 10.1.0.12, ansible_connection: ssh}\n"
    )
    with pytest.raises(UserError) as raised:
        hostkeys.entry_names(tmp_path / "hosts.yml")
    assert raised.value.messages == [
        "n1 set ansible_connection to an SSH library that ignores known_hosts beside the "
        "inventory (and waits for an answer to an unknown key); remove the setting to connect "
        "with OpenSSH, which checks the keys there."
    ]
