"""The fixture factories start devices and stop them after the test."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import pytest

from tests.devices import JunosDevice, NxosDevice
from tests.devices.fixtures import junos_devices, nxos_devices

__all__ = ["junos_devices", "nxos_devices"]  # the fixtures pytest finds here

_seen: list[tuple[str, int]] = []


def test_factories_start_devices(junos_devices: Callable[..., JunosDevice], nxos_devices: Callable[..., NxosDevice]) -> None:
    j = junos_devices("system { host-name a; }")
    n = nxos_devices("hostname b\n", port22=os.geteuid() == 0)
    for host, port in ((j.host, j.port), (n.host, n.http_port), (n.host, n.ssh_port)):
        socket.create_connection((host, port), timeout=5).close()
        _seen.append((host, port))
    assert "host-name a;" in j.running_text() and "hostname b" in n.running_text()


def test_devices_are_stopped_after_the_test() -> None:
    if not _seen:
        pytest.skip("runs after test_factories_start_devices")
    for host, port in _seen:
        with pytest.raises(OSError):
            socket.create_connection((host, port), timeout=2).close()
