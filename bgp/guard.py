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
from bgp.speaker.commands import RouteAttributes

IPNet = IPv4Network | IPv6Network

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./:@-]{0,252}")
_CHECK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


@dataclass(frozen=True)
class PrefixDecision:
    """Why a desired prefix is (not) announced: ``state`` is ``announce``, ``unhealthy`` or
    ``refused``; ``services`` are the keys that want it; ``reason`` explains a refusal."""

    prefix: IPNet
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


def _order(n: IPNet) -> tuple[int, int, int]:
    # the same order as (version, network), without ipaddress's slow comparisons
    return (n.version, int(n.network_address), n.prefixlen)


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
    wanted: dict[IPNet, list[DesiredService]] = {}
    for key in sorted(services):
        svc = services[key]
        problem = service_problem(svc, checks)
        if problem is not None:
            result.refused_services[key] = problem
            for p in svc.prefixes:
                if isinstance(p, IPv4Network | IPv6Network):
                    result.decisions.setdefault(p, PrefixDecision(p, "refused", (key,), svc.check, problem))
            continue
        for p in svc.prefixes:
            wanted.setdefault(p, []).append(svc)

    candidates: list[IPNet] = []
    # one attribute set per (family, services announcing it): computed once, shared
    attrs_of: dict[tuple[int, tuple[str, ...]], RouteAttributes] = {}
    for p in sorted(wanted, key=_order):
        svcs = wanted[p]
        keys = tuple(s.key for s in svcs)
        problem = config.guard.refusal(p)
        if problem is not None:
            result.decisions[p] = PrefixDecision(p, "refused", keys, svcs[0].check, problem)
            continue
        up = [s for s in svcs if s.check is None or healthy(s.check)]
        if not up:
            down = ", ".join(sorted({s.check for s in svcs if s.check}))
            result.decisions[p] = PrefixDecision(p, "unhealthy", keys, svcs[0].check, f"check not up: {down}")
            continue
        candidates.append(p)
        up_keys = tuple(s.key for s in up)
        attrs = attrs_of.get((p.version, up_keys))
        if attrs is None:
            attrs = attrs_of[(p.version, up_keys)] = _attributes(p.version, up, config, draining)
        result.announce[p] = attrs
        result.decisions[p] = PrefixDecision(p, "announce", up_keys, up[0].check)

    limit = config.guard.max_prefixes
    if len(candidates) > limit:
        for p in candidates[limit:]:
            del result.announce[p]
            d = result.decisions[p]
            result.decisions[p] = PrefixDecision(p, "refused", d.services, d.check, f"over max_prefixes ({limit})")
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
