"""Guard rails: from desired services and check states to the set the agent may announce. Pure.

:func:`plan` is the single place that decides, for every desired prefix, whether it is
announced and with which attributes. A caller may rely on:

- a prefix is announced only if its length is allowed (host routes by default), it lies
  inside an allowed range, a healthy service wants it, and every string that would reach
  ExaBGP for it (communities) passed strict validation; a service whose key, check name or
  communities carry anything else (a newline, a quote) is refused as a whole;
- at most ``max_prefixes`` are announced; the surplus (the highest prefixes in address
  order, so the choice is stable) is refused with a reason;
- the result is deterministic for the same input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network

from bgp.community import GRACEFUL_SHUTDOWN, parse_community, parse_large_community
from bgp.config import AgentConfig
from bgp.sources.base import DesiredService
from bgp.speaker.commands import RouteAttributes, sort_key

IPNet = IPv4Network | IPv6Network

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./:@-]{0,252}")
_CHECK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


@dataclass(frozen=True)
class PrefixDecision:
    """Why a desired prefix is (not) announced: ``state`` is ``announce``, ``unhealthy`` or
    ``refused``; ``services`` are the keys that want it; ``reason`` explains a refusal.
    Keyed by prefix in :attr:`Plan.decisions`; prefixes decided alike share one object."""

    state: str
    services: tuple[str, ...]
    check: str | None = None
    reason: str = ""


@dataclass
class Plan:
    """The announce set (prefix -> attributes) and a decision for every desired prefix."""

    announce: dict[IPNet, RouteAttributes] = field(default_factory=dict)
    decisions: dict[IPNet, PrefixDecision] = field(default_factory=dict)
    refused_services: dict[str, str] = field(default_factory=dict)


def service_problem(svc: DesiredService, known_checks: Iterable[str]) -> str | None:
    """Why a whole service is refused (bad key, check, community), or None."""
    if not _KEY.fullmatch(svc.key):
        return f"service key {svc.key!r} has characters that are not allowed"
    if svc.check is not None:
        if not _CHECK.fullmatch(svc.check):
            return f"check name {svc.check!r} has characters that are not allowed"
        if svc.check not in set(known_checks):
            return f"no check named {svc.check!r}"
    for c in svc.communities:
        try:
            parse_community(c)
        except ValueError as e:
            return str(e)
    for c in svc.large_communities:
        try:
            parse_large_community(c)
        except ValueError as e:
            return str(e)
    for p in svc.prefixes:
        if not isinstance(p, IPv4Network | IPv6Network):
            return f"{p!r} is not a network"
    return None


PrefixSet = set[IPNet] | frozenset[IPNet]
Group = tuple[list[DesiredService], PrefixSet]
"""The services that want a set of prefixes (each prefix wanted by exactly these)."""


def _groups(good: list[DesiredService]) -> dict[tuple[str, ...], Group]:
    """The desired prefixes grouped by the services wanting them, services in key order.

    Whole sets, not prefix by prefix: set operations reuse the hashes the sets hold, and
    hashing an ``ipaddress`` network (a Python method) was most of the guard rails' time at
    10,000 prefixes. Only the prefixes several services want are looked at one by one."""
    seen: set[IPNet] = set()
    shared: set[IPNet] = set()
    for svc in good:
        if seen:
            shared |= seen.intersection(svc.prefixes)
        seen |= svc.prefixes
    groups: dict[tuple[str, ...], Group] = {}
    for svc in good:
        own = svc.prefixes.difference(shared) if shared else svc.prefixes
        if own:
            groups[(svc.key,)] = ([svc], own)
    wanted: dict[IPNet, list[DesiredService]] = {}
    for svc in good:
        for p in svc.prefixes & shared if shared else ():
            wanted.setdefault(p, []).append(svc)
    several: dict[tuple[str, ...], tuple[list[DesiredService], set[IPNet]]] = {}
    for p, svcs in wanted.items():
        several.setdefault(tuple(s.key for s in svcs), (svcs, set()))[1].add(p)
    groups.update(several)
    return groups


class _Rules:
    """The guard config's lengths and ranges as integers, for one pass over many prefixes."""

    def __init__(self, config: AgentConfig) -> None:
        self.guard = config.guard
        self.lengths = {4: frozenset(config.guard.ipv4_lengths), 6: frozenset(config.guard.ipv6_lengths)}
        self.ranges: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
        for r in config.guard.allowed_ranges:
            self.ranges[r.version].append((int(r.netmask), int(r.network_address), r.prefixlen))

    def split(self, prefixes: Iterable[IPNet]) -> tuple[dict[IPNet, str], list[IPNet]]:
        """The refused prefixes with their reason (the text of ``GuardConfig.refusal``), and
        the allowed IPv6 prefixes (the rest is IPv4)."""
        refused: dict[IPNet, str] = {}
        v6: list[IPNet] = []
        for p in prefixes:
            version, length = p.version, p.prefixlen
            if length in self.lengths[version]:
                address = int(p.network_address)
                if any(length >= rlen and address & mask == net for mask, net, rlen in self.ranges[version]):
                    if version == 6:
                        v6.append(p)
                    continue
            refused[p] = self.guard.refusal(p) or "refused"
        return refused, v6


def plan(
    services: Mapping[str, DesiredService],
    healthy: Callable[[str], bool],
    known_checks: Iterable[str],
    config: AgentConfig,
    draining: bool = False,
) -> Plan:
    """Decide the announce set. ``healthy(check_name)`` tells whether a check is UP.
    With ``draining``, every announced prefix carries GRACEFUL_SHUTDOWN (65535:0)."""
    checks = set(known_checks)
    result = Plan()
    good: list[DesiredService] = []
    for key in sorted(services):
        svc = services[key]
        problem = service_problem(svc, checks)
        if problem is not None:
            result.refused_services[key] = problem
            for p in svc.prefixes:
                if isinstance(p, IPv4Network | IPv6Network):
                    result.decisions.setdefault(p, PrefixDecision("refused", (key,), svc.check, problem))
            continue
        good.append(svc)

    rules = _Rules(config)
    # one attribute set per (family, services announcing it): computed once, shared
    attrs_of: dict[tuple[int, tuple[str, ...]], RouteAttributes] = {}
    for keys, (svcs, prefixes) in _groups(good).items():
        refused, v6 = rules.split(prefixes)
        for p, reason in refused.items():
            result.decisions[p] = PrefixDecision("refused", keys, svcs[0].check, reason)
        allowed = prefixes.difference(refused) if refused else prefixes
        if not allowed:
            continue
        up = [s for s in svcs if s.check is None or healthy(s.check)]
        if not up:
            down = ", ".join(sorted({s.check for s in svcs if s.check}))
            unhealthy = PrefixDecision("unhealthy", keys, svcs[0].check, f"check not up: {down}")
            result.decisions.update(dict.fromkeys(allowed, unhealthy))
            continue
        up_keys = tuple(s.key for s in up)
        result.decisions.update(dict.fromkeys(allowed, PrefixDecision("announce", up_keys, up[0].check)))
        by_version: list[tuple[int, PrefixSet | list[IPNet]]] = [(4, allowed), (6, [])]
        if v6:
            by_version = [(4, allowed.difference(v6)), (6, v6)]
        for version, members in by_version:
            if not members:
                continue
            attrs = attrs_of.get((version, up_keys))
            if attrs is None:
                attrs = attrs_of[(version, up_keys)] = _attributes(version, up, config, draining)
            result.announce.update(dict.fromkeys(members, attrs))

    limit = config.guard.max_prefixes
    if len(result.announce) > limit:
        for p in sorted(result.announce, key=sort_key)[limit:]:
            del result.announce[p]
            d = result.decisions[p]
            result.decisions[p] = PrefixDecision("refused", d.services, d.check, f"over max_prefixes ({limit})")
    return result


def _attributes(version: int, up: list[DesiredService], config: AgentConfig, draining: bool) -> RouteAttributes:
    """The attributes of a prefix of ``version`` announced for the services ``up``."""
    communities = set(config.attributes.communities)
    large = set(config.attributes.large_communities)
    for s in up:
        communities.update(parse_community(c) for c in s.communities)
        large.update(parse_large_community(c) for c in s.large_communities)
    if draining:
        communities.add(GRACEFUL_SHUTDOWN)
    next_hop = config.next_hop.ipv4 if version == 4 else config.next_hop.ipv6
    return RouteAttributes.make(None if next_hop == "self" else next_hop, communities, large, config.attributes.med)
