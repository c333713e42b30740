"""The configured BGP neighbours as the agent sees them: session state from ExaBGP's events,
which peers carry which family, and the withdrawals not yet seen sent to each.

No I/O: :meth:`Peers.on_event` is fed the parsed events of :mod:`bgp.speaker.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from bgp.config import PeerConfig
from bgp.speaker.events import Event, Neighbors, PeerState, SentUpdate, neighbor_summary

log = logging.getLogger(__name__)

IPNet = IPv4Network | IPv6Network
IPAddr = IPv4Address | IPv6Address


@dataclass
class PeerInfo:
    """What the agent knows of one configured neighbour."""

    name: str
    address: str
    families: tuple[str, ...]
    state: str = "down"
    since: float = 0.0
    reason: str = ""


def family_of(version: int) -> str:
    return "ipv4" if version == 4 else "ipv6"


class Peers:
    """Every configured peer by address, plus the withdrawal bookkeeping a stop waits on:
    :attr:`all_withdrawn` is set while no withdrawal is pending on an established session."""

    def __init__(self, configs: Iterable[PeerConfig]) -> None:
        self._by_address = {str(p.address): PeerInfo(p.label, str(p.address), tuple(p.families)) for p in configs}
        self._pending: dict[str, set[IPNet]] = {}
        self.all_withdrawn = asyncio.Event()

    def __iter__(self) -> Iterator[PeerInfo]:
        return iter(self._by_address.values())

    def __len__(self) -> int:
        return len(self._by_address)

    def up(self) -> list[PeerInfo]:
        return [p for p in self if p.state == "up"]

    def reset(self) -> None:
        """ExaBGP (re)starts: every session is down."""
        for peer in self:
            peer.state = "down"

    def selectors(self) -> dict[int, list[IPAddr] | None]:
        """Per IP version, the peers to name in a command: [] = all peers (no selector
        needed), None = no peer carries the family."""
        out: dict[int, list[IPAddr] | None] = {}
        for version in (4, 6):
            carrying = [p for p in self if family_of(version) in p.families]
            if not carrying:
                out[version] = None
            else:
                out[version] = [] if len(carrying) == len(self) else [ip_address(p.address) for p in carrying]
        return out

    def expect_withdrawn(self, withdrawn: Mapping[int, Iterable[IPNet]]) -> None:
        """These withdrawals are about to be sent: each established peer of the family must
        report them sent (ExaBGP's ``track_sent``) before :attr:`all_withdrawn` is set."""
        for version, gone in withdrawn.items():
            for peer in self.up():
                if family_of(version) in peer.families:
                    self._pending.setdefault(peer.address, set()).update(gone)

    def forget_withdrawn(self, prefixes: Iterable[IPNet]) -> None:
        """These withdrawals were not sent after all (ExaBGP refused them): stop waiting."""
        gone = set(prefixes)
        for pending in self._pending.values():
            pending.difference_update(gone)
        self.settle()

    def pending(self) -> bool:
        return any(self._pending.values())

    def settle(self) -> None:
        """Set :attr:`all_withdrawn` if nothing is pending any more."""
        if not self.pending():
            self.all_withdrawn.set()

    async def wait_withdrawn(self, timeout: float, tracked: bool) -> bool:
        """Wait until every pending withdrawal was seen sent (at most ``timeout``); without
        ``tracked`` (ExaBGP not reporting sent UPDATEs) there is no proof: wait one second.
        True when nothing is pending any more."""
        if tracked:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.all_withdrawn.wait(), timeout)
        else:
            await asyncio.sleep(1.0)
        return not self.pending()

    def on_event(self, event: Event) -> PeerInfo | None:
        """Update from one ExaBGP event; returns the peer a session-state event was about."""
        if isinstance(event, PeerState):
            peer = self._by_address.get(event.peer)
            if peer is None:
                return None
            if event.state != peer.state:
                log.info("peer state", extra={"peer": peer.name, "state": event.state, "reason": event.reason})
                peer.since = time.time()
            peer.state = event.state
            peer.reason = event.reason
            if event.state != "up":
                self._pending.pop(event.peer, None)  # a session that went down withdrew everything
                self.settle()
            return peer
        if isinstance(event, SentUpdate) and event.withdrawn:
            pending = self._pending.get(event.peer)
            if pending:
                pending.difference_update(event.withdrawn)
                self.settle()
        elif isinstance(event, Neighbors):
            for entry in event.peers:
                address, state, _ = neighbor_summary(entry)
                if address in self._by_address:
                    self._by_address[address].state = state
        return None
