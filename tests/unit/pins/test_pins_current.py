"""Every pin in roles/kube_defaults/defaults/main/pins.yml is well formed and still
supported today: not past its end of life, not more than two minors behind the newest
release known for it. Fails the day a pin needs refreshing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubeprimer import pins, yamlfile
from kubeprimer.errors import UserError
from kubeprimer.paths import ADDONS, ROLES

PINS = pins.load()
LISTING = list(pins.listing())
FIELDS = ("version", "released", "eol", "latest", "source")


@pytest.mark.parametrize("pin", LISTING, ids=[p.name for p in LISTING])
def test_pin_is_not_past_its_end_of_life(pin: pins.Pin) -> None:
    today = datetime.date.today()
    if pin.kept_past_eol:
        pytest.skip(f"offered on request only: {pin.kept_past_eol}")
    assert not pin.past_eol(today), (
        f"{pin.name} {pin.version} reached its end of life on {pin.eol}; refresh it in {pins.PINS_FILE}"
    )


@pytest.mark.parametrize("pin", LISTING, ids=[p.name for p in LISTING])
def test_pin_is_at_most_two_minors_behind_the_latest(pin: pins.Pin) -> None:
    assert pin.minors_behind() <= 2, f"{pin.name} {pin.version} is far behind {pin.latest}"


@pytest.mark.parametrize("name", list(PINS))
def test_entry_has_the_schema_fields(name: str) -> None:
    entry: dict[str, Any] = PINS[name]
    subs = [entry, *(entry.get("minors") or {}).values()]
    for sub in subs:
        missing = [f for f in FIELDS if f not in sub]
        assert not missing, f"{name}: {missing} missing"
        assert str(sub["source"]).startswith("https://"), f"{name}: source is not an https URL"
    if "image" in entry:
        assert "digest" in entry, f"{name}: an image pin records its digest (or null)"
    for key in ("checksums",):
        if key in entry:
            assert str(entry[key]).startswith("https://"), f"{name}: {key} is not a URL"


def test_pins_kept_past_eol_are_never_what_a_default_install_deploys() -> None:
    """Weave and ingress-nginx stay offered for clusters that run them, never chosen for a new one."""
    kept = {p.component for p in LISTING if p.kept_past_eol}
    assert kept == {"weave", "ingress_nginx"}
    cni = yamlfile.read(ROLES / "kube_defaults" / "defaults" / "main" / "cluster.yml")["kube_cni"]
    ingress = yamlfile.read(ADDONS / "ingress" / "addon.yml")["settings"]["controller"]["default"]
    assert (cni, ingress) == ("flannel", "haproxy")
    for pin in LISTING:
        if pin.kept_past_eol:
            assert pin.warning, f"{pin.name} is kept past its end of life without a warning"
            assert "PAST END OF LIFE" in pin.status(datetime.date(2100, 1, 1))


def test_the_default_kubernetes_is_one_of_the_pinned_minors() -> None:
    default = pins.cluster_defaults()["kube_version"]
    minor = ".".join(default.split(".")[:2])
    assert PINS["kubernetes"]["minors"][minor]["version"] == default


def test_every_supported_minor_has_its_crictl_and_pause() -> None:
    minors = pins.supported_minors()
    assert minors
    for component in ("crictl", "pause"):
        assert list(PINS[component]["minors"]) == minors, f"{component} is not pinned per minor"


def test_the_check_itself_catches_a_pin_past_eol_and_one_far_behind() -> None:
    """The two rules above, on pins made to break them."""
    old = pins.Pin("x", "1.2.3", None, datetime.date(2020, 1, 1), "1.9.0", "https://example.org")
    assert old.past_eol(datetime.date(2020, 1, 2))
    assert not old.past_eol(datetime.date(2020, 1, 1))
    assert old.minors_behind() == 7
    assert "PAST END OF LIFE" in old.status(datetime.date(2021, 1, 1))
    # Another major is not counted in minors: the end of life covers it.
    assert pins.Pin("y", "v1.20.4", None, None, "2.0.0", "").minors_behind() == 0


def test_a_malformed_date_is_one_sentence() -> None:
    with pytest.raises(UserError, match="is not a date; write it as YYYY-MM-DD"):
        list(pins.listing({"x": {"version": "1.0.0", "released": "yesterday"}}))
