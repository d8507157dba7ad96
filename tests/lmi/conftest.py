"""Fixtures for the tests through the RIE's LMI engine (root, `unshare -m`)."""

from __future__ import annotations

import os

import pytest
from rie_lmi import Deps, prepare_deps, why_not

# CI=true (what .ci/run sets): a test that cannot run for want of root, unshare or the RIE
# fails instead of skipping, so a broken machine set-up cannot pass as green.
STRICT = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    if STRICT:
        pytest.fail(f"{reason} [CI=true: a missing tool fails the test instead of skipping it]", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def lmi_deps(tmp_path_factory: pytest.TempPathFactory) -> Deps:
    """/var/deps for every session: lambdaloop from this checkout, awslambdaric and friends."""
    reason = why_not()
    if reason:
        unavailable(reason)
    from lambdaloop.rie import RieUnavailable, ensure_rie

    try:
        ensure_rie()
    except RieUnavailable as exc:
        unavailable(f"no RIE: {exc}")
    return prepare_deps(tmp_path_factory.mktemp("lmi-deps"))
