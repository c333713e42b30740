"""Fixtures for the Kubernetes source tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from k8s_apiserver import LocalApiServer


@pytest.fixture
def apiserver() -> Iterator[LocalApiServer]:
    """A running LocalApiServer on a random 127.0.0.1 port, stopped after the test."""
    server = LocalApiServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
