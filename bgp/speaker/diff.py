"""From "what ExaBGP has" and "what it should have" to the command lines that get there. Pure.

A caller may rely on:

- withdrawals come before announcements (a prefix moving between attribute sets is simply
  re-announced: ExaBGP replaces the path);
- announcements are grouped by attribute set and batched, each line carrying the exact
  prefixes it changes, so an ``error`` ack can be attributed to its prefixes;
- a family no peer carries produces no command; its prefixes are reported as ``dropped``
  (announced nowhere, nothing to withdraw);
- the output is deterministic (sorted prefixes, attribute sets in a fixed order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from bgp.speaker import commands
from bgp.speaker.commands import RouteAttributes

IPNet = IPv4Network | IPv6Network
IPAddr = IPv4Address | IPv6Address


@dataclass(frozen=True)
class Step:
    """One command line; ``attrs`` None means it withdraws ``prefixes``."""

    line: str
    prefixes: tuple[IPNet, ...]
    attrs: RouteAttributes | None


@dataclass
class Diff:
    """The steps to send, the prefixes withdrawn (per family) and those no peer carries."""

    steps: list[Step] = field(default_factory=list)
    withdrawn: dict[int, list[IPNet]] = field(default_factory=dict)
    dropped: list[IPNet] = field(default_factory=list)


def _attrs_order(a: RouteAttributes) -> tuple[tuple[str, ...], tuple[str, ...], int, str]:
    return (a.communities, a.large_communities, -1 if a.med is None else a.med, str(a.next_hop or ""))


def _by_version(prefixes: Iterable[IPNet]) -> dict[int, list[IPNet]]:
    out: dict[int, list[IPNet]] = {4: [], 6: []}
    for p in prefixes:
        out[p.version].append(p)
    return out


def _changed(
    current: Mapping[IPNet, RouteAttributes], target: Mapping[IPNet, RouteAttributes]
) -> dict[int, dict[int, tuple[RouteAttributes, list[IPNet]]]]:
    """Per IP version, the prefixes whose attributes change, grouped by attribute object
    (keyed by ``id``: the guard rails share one object per attribute set, and hashing a
    :class:`RouteAttributes` per prefix cost more than the grouping itself)."""
    out: dict[int, dict[int, tuple[RouteAttributes, list[IPNet]]]] = {4: {}, 6: {}}
    get = current.get
    for p, a in target.items():
        if current:
            old = get(p)
            if old is a or old == a:
                continue
        groups = out[p.version]
        group = groups.get(id(a))
        if group is None:
            group = groups[id(a)] = (a, [])
        group[1].append(p)
    return out


def diff(
    current: Mapping[IPNet, RouteAttributes],
    target: Mapping[IPNet, RouteAttributes],
    peers: Mapping[int, Sequence[IPAddr] | None],
    batch: int,
) -> Diff:
    """``peers[4]``/``peers[6]``: the peers to address for that IP version, ``[]`` for
    every peer (no selector), None when no peer carries the family."""
    out = Diff()
    # set(dict).difference(dict) reuses the hashes both dicts hold: no ipaddress hashing
    gone_by_version = _by_version(set(current).difference(target) if current else ())
    changed_by_version = _changed(current, target)
    announce_steps: list[Step] = []
    for version in (4, 6):
        selector = peers.get(version)
        gone = gone_by_version[version]
        changed = changed_by_version[version]
        if selector is None:
            dropped = set(gone)
            for _, group in changed.values():
                dropped.update(group)
            out.dropped += sorted(dropped, key=commands.sort_key)
            continue
        if gone:
            chunks = commands.chunks(gone, batch)
            out.withdrawn[version] = [p for chunk in chunks for p in chunk]
            for chunk in chunks:
                [line] = commands.withdraw(chunk, selector, batch)
                out.steps.append(Step(line, tuple(chunk), None))
        by_attrs: dict[RouteAttributes, list[IPNet]] = {}
        for attrs, group in changed.values():  # equal attribute sets held in different objects
            by_attrs.setdefault(attrs, []).extend(group)
        for attrs in sorted(by_attrs, key=_attrs_order):
            for chunk in commands.chunks(by_attrs[attrs], batch):
                [line] = commands.announce(chunk, attrs, selector, batch)
                announce_steps.append(Step(line, tuple(chunk), attrs))
    # withdrawals of both families first
    out.steps += announce_steps
    return out
