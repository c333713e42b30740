"""Putting rendered configs on devices: one driver protocol, a registry of drivers.

``driver.py`` is the contract (shaped like napalm's ``NetworkDriver``), ``errors.py`` the
failures a driver raises, ``registry.py`` finds a driver by name (entry point group
``leafspine.drivers`` for third parties).
"""

from fabric.deploy.driver import BgpNeighbor, Connection, Driver, Facts, Interface, LoadMode, Route, Vni
from fabric.deploy.errors import CommitError, ConnectError, LoadError, LockError
from fabric.deploy.registry import driver_for, register_driver

__all__ = [
    "BgpNeighbor", "CommitError", "ConnectError", "Connection", "Driver", "Facts", "Interface", "LoadError",
    "LoadMode", "LockError", "Route", "Vni", "driver_for", "register_driver",
]
