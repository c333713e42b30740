"""Lab fixtures: skip `lab` tests (with the reason) where root or FRR is missing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from fabric.lab import Lab, cleanup_stale, missing_requirements
from fabric.lab.fabriclab import FabricLab, list_labs
from fabric.lab.system import alive

# named labs of the lab tests and benchmarks: t<pid>, s<pid>, b<pid>, m<pid>
_TEST_LAB = re.compile(r"^[tsbm](\d+)$")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Remove named test labs a killed earlier run left (their pid is gone); never a live
    run's, never a lab with another name."""
    if missing_requirements() is not None:
        return
    for name in list_labs():
        m = _TEST_LAB.match(name)
        if m and not alive(int(m.group(1))):
            FabricLab(name).down()


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
