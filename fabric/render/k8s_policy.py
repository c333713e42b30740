"""The Kubernetes service-route import policy as the line-oriented CLIs (NX-OS, FRR) print
it: one prefix list per address family and one route-map per family per cluster.

Only the prefix-list length modifiers differ by platform (NX-OS has ``eq``, FRR does
not), so each renderer passes its own ``modifiers`` function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

from fabric.design.intent import K8sPeering, PrefixFilter
from fabric.render.cli_text import cli_word


@dataclass(frozen=True, slots=True)
class PrefixListEntry:
    """One ``ip prefix-list`` line: sequence, prefix and the platform's length modifiers
    (``""``, ``"eq 32"``, ``"ge 25 le 32"`` ...)."""

    seq: int
    prefix: IPv4Network | IPv6Network
    modifiers: str


@dataclass(frozen=True, slots=True)
class K8sPolicy:
    """The import policy of one cluster: prefix lists of the /32 and /128 it may
    announce, and route-maps that lower routes carrying GRACEFUL_SHUTDOWN to the
    lowest local preference and accept the rest of the allowed ones."""

    cluster: str
    prefix_list4: str
    prefix_list6: str
    entries4: tuple[PrefixListEntry, ...]
    entries6: tuple[PrefixListEntry, ...]
    route_map4: str
    route_map6: str
    local_preference: int


def k8s_policy(p: K8sPeering, modifiers: Callable[[PrefixFilter], str]) -> K8sPolicy:
    """Names and entries of ``p``'s cluster policy (the same on every leaf)."""
    base = "K8S-" + cli_word(p.cluster, "cluster name", 50).upper()

    def entries(filters: tuple[PrefixFilter, ...]) -> tuple[PrefixListEntry, ...]:
        return tuple(PrefixListEntry(10 * (i + 1), f.prefix, modifiers(f)) for i, f in enumerate(filters))

    return K8sPolicy(
        cluster=p.cluster,
        prefix_list4=f"{base}-SVC4",
        prefix_list6=f"{base}-SVC6",
        entries4=entries(p.accept4),
        entries6=entries(p.accept6),
        route_map4=f"{base}-IN4",
        route_map6=f"{base}-IN6",
        local_preference=p.graceful_shutdown.local_preference,
    )
