"""vault.init refuses a bad request before the server is touched, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeprimer.errors import UserError
from kubeprimer.vault.init import Protection, check_request, prepare_out


def problems(shares: int, threshold: int, protection: Protection, out: Path) -> list[str]:
    try:
        check_request(shares, threshold, protection, out)
    except UserError as error:
        return error.messages
    return []


def test_a_sound_request_passes_and_a_missing_folder_is_fine(tmp_path: Path) -> None:
    assert problems(5, 3, Protection(), tmp_path / "new") == []


def test_shares_thresholds_and_key_counts(tmp_path: Path) -> None:
    recipients = tmp_path / "r.txt"
    recipients.write_text("age1aaa\nage1bbb\n")
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    found = problems(3, 4, Protection(age_recipients=recipients), out)
    assert any("between 1 and --key-shares 3" in p for p in found)
    assert any("2 operator key(s) for 3 key shares" in p for p in found)
    assert any("lets one holder unseal alone" in p for p in problems(3, 1, Protection(), out))


def test_the_folder_must_be_private_and_keys_never_overwritten(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert any("chmod 700" in p for p in problems(3, 2, Protection(), shared))
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "unseal-keys").write_text("old keys")
    assert any("already exists" in p for p in problems(3, 2, Protection(), private))
    assert any("cannot be made" in p for p in problems(3, 2, Protection(), tmp_path / "a" / "b"))


def test_pgp_and_age_together_are_refused(tmp_path: Path) -> None:
    key = tmp_path / "k.asc"
    key.write_text((Path(__file__).parent / "pgp" / "encrypting.asc").read_text())
    recipients = tmp_path / "r.txt"
    recipients.write_text("age1aaa\n")
    with pytest.raises(UserError, match="not both"):
        check_request(1, 1, Protection((key,), recipients), tmp_path)


def test_an_out_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    assert any("is a file" in p for p in problems(3, 2, Protection(), taken))


def test_one_operator_may_not_hold_two_shares(tmp_path: Path) -> None:
    recipients = tmp_path / "r.txt"
    key = "age12ta8mra2y6jm08a4wprte5kqe0z23f3jw0cnt2sylyfuh4w9v9hqhlc2x2"
    recipients.write_text(f"{key}\n{key}\n")
    found = problems(2, 2, Protection(age_recipients=recipients), tmp_path / "out")
    assert any("recipient 2 repeats recipient 1" in p for p in found), found
    pgp = tmp_path / "k.asc"
    pgp.write_text((Path(__file__).parent / "pgp" / "encrypting.asc").read_text())
    found = problems(2, 2, Protection(pgp_keys=(pgp, pgp)), tmp_path / "out")
    assert any("key 2 repeats key 1" in p for p in found), found


def test_an_output_folder_that_cannot_be_written_is_refused_before_init() -> None:
    # /proc takes no new folders, not even from root: the closest to a read-only disk here.
    with pytest.raises(UserError, match="cannot be written"):
        prepare_out(Path("/proc/kubeprimer-init-out"))
