"""Pytest fixtures for the test devices: import them into a test module or a conftest.

    from tests.devices.fixtures import junos_devices, nxos_devices  # noqa: F401

    def test_x(junos_devices):
        leaf = junos_devices(config_text, hostname="leaf1", minute=1.0)
        ...

Each fixture is a factory; every device it started is stopped after the test, also when
the test fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.devices.common import free_loopback
from tests.devices.junos import JunosDevice
from tests.devices.nxos import NxosDevice

__all__ = ["junos_devices", "nxos_devices"]


@pytest.fixture
def junos_devices() -> Iterator[Callable[..., JunosDevice]]:
    """``make(config="", **JunosDevice options)`` -> a started :class:`JunosDevice`."""
    started: list[JunosDevice] = []

    def make(config: str = "", **kw: Any) -> JunosDevice:
        dev = JunosDevice(config, **kw).start()
        started.append(dev)
        return dev

    yield make
    for dev in started:
        dev.stop()


@pytest.fixture
def nxos_devices() -> Iterator[Callable[..., NxosDevice]]:
    """``make(config="", port22=True, **NxosDevice options)`` -> a started :class:`NxosDevice`.

    With ``port22`` (the default) the device gets its own 127.x.y.z address and SSH on
    port 22, which napalm's nxos driver needs for ``load_replace_candidate`` (root only)."""
    started: list[NxosDevice] = []

    def make(config: str = "", port22: bool = True, **kw: Any) -> NxosDevice:
        if port22 and "host" not in kw:
            kw = {**kw, "host": free_loopback(22), "ssh_port": 22}
        dev = NxosDevice(config, **kw).start()
        started.append(dev)
        return dev

    yield make
    for dev in started:
        dev.stop()
