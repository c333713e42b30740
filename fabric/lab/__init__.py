"""The network-namespace lab: FRR routers and hosts in namespaces, wired with veth pairs.

Needs root, iproute2 and Debian's ``frr`` (daemons in /usr/lib/frr). The kernel of the lab
machines has no VRF support (CONFIG_NET_VRF): :func:`vrf_supported` says so and tenant VRFs
are not modelled here.

Typical use (tests, and later ``fabric lab up``)::

    from fabric.lab import Lab

    with Lab("bgp") as lab:                          # names: ls-<pid>-<seq>-<node>
        r1, r2 = lab.add_router("r1"), lab.add_router("r2")
        lab.link(r1, r2, a_addrs=["10.0.0.0/31"], b_addrs=["10.0.0.1/31"])
        r1.start(FRR_CONF_TEXT)                      # zebra, bgpd, staticd with their own pathspace
        r2.start(...)
        r2.wait_route("192.0.2.0/24", lambda r: r is not None, timeout=30)
        print(r2.vtysh("show bgp summary"))
    # everything is gone here, also after an exception

    cleanup_stale()                                  # removes namespaces of crashed runs

Guarantees: every namespace of a run carries the run's prefix and is recorded in a state
file before it exists; :meth:`Lab.close` (``with`` exit, atexit) removes processes,
daemons, namespaces and files; :func:`cleanup_stale` removes what a killed run left and
never touches a live run.
"""

from fabric.lab.fib import Nexthop, Route, parse_routes
from fabric.lab.lab import (
    STATE_DIR,
    Host,
    Lab,
    Link,
    Node,
    Router,
    cleanup_stale,
    missing_requirements,
    vrf_supported,
)
from fabric.lab.system import LabError, wait_until

__all__ = [
    "STATE_DIR",
    "Host",
    "Lab",
    "LabError",
    "Link",
    "Nexthop",
    "Node",
    "Route",
    "Router",
    "cleanup_stale",
    "missing_requirements",
    "parse_routes",
    "vrf_supported",
    "wait_until",
]
