"""Each version rule refuses with one sentence naming component, versions and what to do."""

from __future__ import annotations

import pytest

from kubeprimer.errors import UserError
from kubeprimer.upgrade import rules

SUPPORTED = ["1.35", "1.36", "1.37"]


def refusal(call: object, *args: str) -> str:
    with pytest.raises(UserError) as caught:
        call(*args)  # type: ignore[operator]
    (sentence,) = caught.value.messages
    assert sentence.count(". ") == 0 and sentence.endswith(".")
    return sentence


@pytest.mark.parametrize(
    ("running", "wanted"),
    [("1.36.4", "1.36.4"), ("1.36.4", "1.36.9"), ("v1.36.4", "1.37.1"), ("1.35.0", "1.36.0")],
)
def test_kubernetes_same_patch_or_next_minor_passes(running: str, wanted: str) -> None:
    rules.kubernetes(running, wanted, SUPPORTED)


def test_kubernetes_skipping_a_minor_is_refused() -> None:
    said = refusal(rules.kubernetes, "1.35.9", "1.37.1", SUPPORTED)
    assert "skip a minor" in said and "1.35.9" in said and "1.37.1" in said
    assert "1.36 first" in said and "invoke cluster.upgrade" in said


@pytest.mark.parametrize(("running", "wanted"), [("1.37.1", "1.36.4"), ("1.37.1", "1.37.0")])
def test_kubernetes_going_down_is_refused(running: str, wanted: str) -> None:
    said = refusal(rules.kubernetes, running, wanted, SUPPORTED)
    assert f"go down from {running} to {wanted}" in said and "kube_version" in said


def test_kubernetes_outside_the_supported_minors_is_refused() -> None:
    said = refusal(rules.kubernetes, "1.37.1", "1.38.0", SUPPORTED)
    assert "outside the supported minors (1.35, 1.36, 1.37)" in said and "1.38.0" in said


def test_supported_minors_default_to_the_pins() -> None:
    rules.kubernetes("1.36.4", "1.37.1")
    with pytest.raises(UserError, match="outside the supported"):
        rules.kubernetes("1.37.1", "1.99.0")


def test_not_a_version_is_refused() -> None:
    assert "not a version number" in refusal(rules.kubernetes, "1.36.4", "latest", SUPPORTED)


def test_kubelet_newer_than_the_api_server_is_refused() -> None:
    said = refusal(rules.kubelet, "w1", "1.37.1", "1.36.4")
    assert "kubelet on w1" in said and "newer than the API server's 1.36.4" in said


@pytest.mark.parametrize(
    ("kubelet", "api", "passes"),
    [
        ("1.34.0", "1.37.1", True),  # three minors older: allowed from 1.28 on
        ("1.33.9", "1.37.1", False),
        ("1.25.0", "1.27.3", True),  # two before 1.28
        ("1.24.0", "1.27.3", False),
    ],
)
def test_kubelet_skew_policy(kubelet: str, api: str, passes: bool) -> None:
    if passes:
        rules.kubelet("w1", kubelet, api)
    else:
        assert "minors older than the API server" in refusal(rules.kubelet, "w1", kubelet, api)


def test_a_joining_host_may_be_older_within_the_skew_never_newer() -> None:
    rules.joining("w9", "1.36.4", "1.37.1")
    rules.joining("w9", "1.37.1", "1.37.1")
    said = refusal(rules.joining, "w9", "1.37.1", "1.36.4")
    assert "new host w9" in said and "invoke cluster.upgrade" in said
    assert "more than 3 minors" in refusal(rules.joining, "w9", "1.33.0", "1.37.1")


@pytest.mark.parametrize(("running", "wanted"), [("3.4.23", "3.5.1"), ("3.5.1", "3.5.21")])
def test_etcd_next_minor_or_patch_passes(running: str, wanted: str) -> None:
    rules.etcd(running, wanted)


def test_etcd_skipping_a_minor_is_refused() -> None:
    said = refusal(rules.etcd, "3.4.23", "3.6.14", "e1")
    assert said.startswith("etcd on e1 would skip a minor") and "3.5 first" in said


def test_etcd_going_down_is_refused() -> None:
    said = refusal(rules.etcd, "3.5.1", "3.4.23")
    assert "go down from 3.5.1 to 3.4.23" in said and "etcd_version" in said


def test_parse_reads_tags_runtime_urls_and_package_versions() -> None:
    assert rules.parse("v1.37.1") == rules.Version(1, 37, 1)
    assert rules.parse("containerd://1.7.24~ds1") == rules.Version(1, 7, 24)
    assert rules.parse("1.6.20~ds1-1+deb12u3") == rules.Version(1, 6, 20)
    assert rules.parse("3.5") == rules.Version(3, 5, 0)
    assert rules.parse("latest") is None
