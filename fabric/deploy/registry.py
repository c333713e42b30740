"""Deploy drivers by name: built-ins registered here, third parties through the
``leafspine.drivers`` entry point group (a callable ``(Connection) -> Driver``)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points

from fabric.deploy.driver import Connection, Driver
from fabric.errors import DeployError

DriverFactory = Callable[[Connection], Driver]

# name -> "module:attribute"; imported on first use so that a CLI that never deploys never
# pays for napalm or ncclient.
_BUILTIN: dict[str, str] = {
    "napalm": "fabric.deploy.drivers.napalm:NapalmDriver",
    "netconf": "fabric.deploy.drivers.netconf:NetconfDriver",
    "frr": "fabric.deploy.drivers.frr:driver",
}
_LOADED: dict[str, DriverFactory] = {}


def register_driver(name: str, target: str | DriverFactory) -> None:
    """Register a driver under ``name``: a ``"module:attribute"`` path or a factory."""
    if isinstance(target, str):
        _BUILTIN[name] = target
        _LOADED.pop(name, None)
    else:
        _LOADED[name] = target


def _load(name: str) -> DriverFactory:
    if name in _LOADED:
        return _LOADED[name]
    if name in _BUILTIN:
        module, _, attr = _BUILTIN[name].partition(":")
        factory: DriverFactory = getattr(import_module(module), attr)
    else:
        found = [ep for ep in entry_points(group="leafspine.drivers") if ep.name == name]
        if not found:
            known = sorted({*_BUILTIN, *_LOADED, *(ep.name for ep in entry_points(group="leafspine.drivers"))})
            raise DeployError(f"unknown deploy driver {name!r} (known: {', '.join(known) or 'none'})")
        factory = found[0].load()
    _LOADED[name] = factory
    return factory


def driver_for(name: str, connection: Connection) -> Driver:
    """A new, unopened driver ``name`` for ``connection``."""
    return _load(name)(connection)
