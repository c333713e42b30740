"""Per-service health checks: probes, the rise/fall state machine and the async monitor.

What the agent uses (everything is exported here)::

    from bgp.health import HealthMonitor, HealthCheck, Transition

    checks: dict[str, HealthCheck] = {          # validated from the agent config
        "dns": DnsCheck(kind="dns", server="127.0.0.1", qname="example.org.", interval=1, rise=2, fall=3),
        "web": HttpCheck(kind="http", url="http://127.0.0.1:8080/healthz", expected_status=[200]),
    }

    async def changed(name: str, t: Transition) -> None:   # may also be a plain function
        ...  # t.old, t.new are Status values; t.state is the new CheckState

    monitor = HealthMonitor(checks, on_change=changed)
    task = asyncio.create_task(monitor.run())   # runs every check forever; cancel to stop
    monitor.healthy("dns")                      # True only while the check is UP
    monitor.states()                            # {name: CheckState} for metrics and `status`
    monitor.update(new_checks)                  # reconfigure: kept checks keep their state

Config models (pydantic v2, ``extra="forbid"``), discriminated by ``kind``:

- ``TcpCheck``   kind "tcp":  ``host``, ``port``; healthy when a TCP connect succeeds.
- ``HttpCheck``  kind "http": ``url`` (http or https), ``expected_status`` (list of codes,
  default [200]), ``host_header``, ``verify_tls`` (default True); one GET, status line compared.
- ``DnsCheck``   kind "dns":  ``server``, ``port`` (53), ``qname``, ``qtype`` ("A"),
  ``expected_rcode`` ("NOERROR"), ``require_answer`` (True), ``transport`` ("udp" | "tcp").
  The ShowNet case: the node's anycast resolver must answer for a configured name.
- ``ExecCheck``  kind "exec": ``command`` (argv list, no shell); exit 0 = healthy. On timeout
  the whole process group is killed.

Common fields: ``interval`` (s between probe starts, default 2), ``timeout`` (s, default 1,
must not exceed interval), ``rise`` (consecutive successes to go UP, default 2) and ``fall``
(consecutive failures to go DOWN, default 3).

Guarantees a caller may rely on:

- A probe never runs longer than its ``timeout``: a hang is a failure, never a stuck agent.
- ``step()`` in :mod:`bgp.health.state` is pure; every check starts ``UNKNOWN`` (not healthy)
  and becomes UP after ``rise`` consecutive successes, DOWN after ``fall`` consecutive failures.
- ``on_change`` is called once per transition, in order per check, from the monitor's task;
  an exception raised by it is logged and does not stop the monitor.
"""

from bgp.health.config import (
    CheckBase,
    DnsCheck,
    ExecCheck,
    HealthCheck,
    HttpCheck,
    TcpCheck,
)
from bgp.health.monitor import HealthMonitor, OnChange
from bgp.health.probes import PROBES, Probe, ProbeResult, run_probe
from bgp.health.state import CheckState, Status, Transition, initial_state, step

__all__ = [
    "PROBES",
    "CheckBase",
    "CheckState",
    "DnsCheck",
    "ExecCheck",
    "HealthCheck",
    "HealthMonitor",
    "HttpCheck",
    "OnChange",
    "Probe",
    "ProbeResult",
    "Status",
    "TcpCheck",
    "Transition",
    "initial_state",
    "run_probe",
    "step",
]
