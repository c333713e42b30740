"""Kernel routes as read with ``ip -j route``: typed, normalised, multipath-aware.

Parsing is pure (:func:`parse_routes` takes the JSON text), so it is tested without a kernel.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Nexthop:
    """One next hop of a route: ``gateway`` (None for a directly connected or blackhole
    route), outgoing ``dev`` and ECMP ``weight`` (1 unless the kernel says otherwise)."""

    gateway: str | None
    dev: str | None
    weight: int = 1


@dataclass(frozen=True)
class Route:
    """One kernel route. ``dst`` is always a prefix with its length (``10.0.0.1/32``,
    ``::/0``), ``type`` is the kernel route type (unicast, blackhole, local...), and
    ``nexthops`` has one entry per path: a single-path route has one, a multipath route
    (``nexthops`` in ip's JSON) has all of them, sorted."""

    dst: str
    protocol: str
    type: str
    nexthops: tuple[Nexthop, ...]
    metric: int | None = None

    @property
    def gateways(self) -> frozenset[str]:
        """The set of gateway addresses (what an ECMP test compares)."""
        return frozenset(n.gateway for n in self.nexthops if n.gateway)


def _gateway(obj: dict[str, Any]) -> str | None:
    if "gateway" in obj:
        return str(obj["gateway"])
    via = obj.get("via")  # IPv4 over an IPv6 next hop (RFC 5549) is shown as "via"
    if isinstance(via, dict) and "host" in via:
        return str(via["host"])
    return None


def _prefix(dst: str, family: int) -> str:
    if dst == "default":
        return "0.0.0.0/0" if family == 4 else "::/0"
    return str(ipaddress.ip_network(dst, strict=False))


def parse_routes(text: str, family: int) -> list[Route]:
    """Parse the output of ``ip -j -4|-6 route show``; ``family`` is 4 or 6 (it names the
    default route, which ip prints as "default")."""
    data = json.loads(text) if text.strip() else []
    routes: list[Route] = []
    for r in data:
        if "nexthops" in r:
            hops = tuple(sorted(Nexthop(_gateway(h), h.get("dev"), int(h.get("weight", 1))) for h in r["nexthops"]))
        else:
            hops = (Nexthop(_gateway(r), r.get("dev")),)
        routes.append(
            Route(
                dst=_prefix(str(r["dst"]), family),
                protocol=str(r.get("protocol", "kernel")),
                type=str(r.get("type", "unicast")),
                nexthops=hops,
                metric=int(r["metric"]) if "metric" in r else None,
            )
        )
    return routes
