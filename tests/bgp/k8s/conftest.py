"""Fixtures for the Kubernetes source tests."""

from __future__ import annotations

from collections.abc import Iterator

# Imported once here, not inside a test's timeout: the API modules take 2 s of CPU to
# import (tens of seconds on a loaded machine).
import kubernetes.client.api.core_v1_api
import kubernetes.client.api.discovery_v1_api  # noqa: F401
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
