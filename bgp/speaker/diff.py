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

from collections.abc import Mapping, Sequence
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


def _chunked(items: Sequence[IPNet], batch: int) -> list[tuple[IPNet, ...]]:
    # Same order and size as commands.announce/withdraw build their lines.
    ordered = sorted(items, key=lambda p: (p.version, p))
    return [tuple(ordered[i : i + batch]) for i in range(0, len(ordered), batch)]


def _attrs_order(a: RouteAttributes) -> tuple[tuple[str, ...], tuple[str, ...], int, str]:
    return (a.communities, a.large_communities, -1 if a.med is None else a.med, str(a.next_hop or ""))


def diff(
    current: Mapping[IPNet, RouteAttributes],
    target: Mapping[IPNet, RouteAttributes],
    peers: Mapping[int, Sequence[IPAddr] | None],
    batch: int,
) -> Diff:
    """``peers[4]``/``peers[6]``: the peers to address for that IP version, ``[]`` for
    every peer (no selector), None when no peer carries the family."""
    out = Diff()
    for version in (4, 6):
        selector = peers.get(version)
        gone = [p for p in current if p.version == version and p not in target]
        changed = {p: a for p, a in target.items() if p.version == version and current.get(p) != a}
        if selector is None:
            out.dropped += sorted(set(gone) | set(changed))
            continue
        if gone:
            out.withdrawn[version] = sorted(gone)
            for chunk, line in zip(_chunked(gone, batch), commands.withdraw(gone, selector, batch), strict=True):
                out.steps.append(Step(line, chunk, None))
        by_attrs: dict[RouteAttributes, list[IPNet]] = {}
        for p, a in changed.items():
            by_attrs.setdefault(a, []).append(p)
        for attrs in sorted(by_attrs, key=_attrs_order):
            group = by_attrs[attrs]
            for chunk, line in zip(_chunked(group, batch), commands.announce(group, attrs, selector, batch), strict=True):
                out.steps.append(Step(line, chunk, attrs))
    # withdrawals of both families first
    out.steps.sort(key=lambda s: s.attrs is not None)
    return out
