"""Lab fixtures: skip `lab` tests (with the reason) where root or FRR is missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fabric.lab import Lab, cleanup_stale, missing_requirements


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_requirements()
    if reason is None:
        return
    for item in items:
        if "lab" in item.keywords and "tests/lab/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A fresh lab per test, removed afterwards whatever the test did."""
    cleanup_stale()  # leftovers of crashed earlier runs would only confuse the assertions
    with Lab(request.node.name[:20]) as the_lab:
        yield the_lab
