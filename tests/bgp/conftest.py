"""bgp test fixtures: the end-to-end lab (skipped, with the reason, without root or FRR)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabric.lab import cleanup_stale, missing_requirements
from tests.bgp.e2e.ecmp_lab import BGP_AGENT, EcmpLab


def lab_skip_reason() -> str | None:
    reason = missing_requirements()
    if reason:
        return reason
    if not os.access(BGP_AGENT, os.X_OK):
        return f"bgp-agent is not installed next to this python ({BGP_AGENT}); pip install -e ."
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = lab_skip_reason()
    if reason is None:
        return
    for item in items:
        if "lab" in item.keywords and "/tests/bgp/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def ecmp(tmp_path: Path) -> Iterator[EcmpLab]:
    """A leaf and three nodes (agents not started), removed afterwards whatever happened."""
    cleanup_stale()
    topo = EcmpLab.build(tmp_path)
    try:
        yield topo
    finally:
        topo.close()
