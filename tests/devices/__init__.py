"""Test devices that speak the real push protocols, as a library for the suite.

- :class:`JunosDevice` (``tests.devices.junos``): NETCONF over SSH (paramiko) with real
  candidate/running configurations, commit confirmed, rollback history, locks.
- :class:`NxosDevice` (``tests.devices.nxos``): NX-API (HTTP JSON-RPC ``/ins``) plus an SSH
  CLI with SCP, checkpoints, ``rollback running-config`` and the scheduler.

Both are context managers (``with JunosDevice(config) as dev: ...``) that listen on
``dev.host``/``dev.port`` with ``dev.username``/``dev.password`` and a generated host key
(``dev.known_hosts_line()``), expose the running configuration (``dev.running_text()``)
and take faults through ``dev.faults`` (:class:`Faults`) and ``dev.lose_address()`` /
``dev.restore_address()``. See docs/test-devices.md.
"""

from tests.devices.common import Faults, HostKey, free_loopback
from tests.devices.junos import JunosDevice
from tests.devices.nxos import NxosDevice

__all__ = ["Faults", "HostKey", "JunosDevice", "NxosDevice", "free_loopback"]
