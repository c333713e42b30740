"""Fixtures for the Kubernetes source tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from k8s_apiserver import LocalApiServer


@pytest.fixture(scope="session", autouse=True)
def _kubernetes_client_imported() -> None:
    """Import the (large, lazily loaded) kubernetes client APIs once, before any test's
    timeouts run: on a loaded 2-core machine the first import of CoreV1Api alone took more
    than the 5 s a test waits for the first snapshot."""
    from kubernetes import client, config

    assert client.CoreV1Api and client.DiscoveryV1Api and config.load_kube_config


@pytest.fixture
def apiserver() -> Iterator[LocalApiServer]:
    """A running LocalApiServer on a random 127.0.0.1 port, stopped after the test."""
    server = LocalApiServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
