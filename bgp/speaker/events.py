"""What ExaBGP 5.0 writes to its API process, parsed into typed values. Pure.

Each line is one of: an ack (``done`` / ``error``), a JSON event (``{...}``: peer state,
an UPDATE or end-of-RIB ExaBGP *sent*, a notification), the answer of ``show neighbor
json`` (``[...]``), or free text answering a command (``exabgp 5.0.15``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

IPNet = IPv4Network | IPv6Network


@dataclass(frozen=True)
class Ack:
    """``done`` (ok) or ``error`` answering one command, in command order."""

    ok: bool


@dataclass(frozen=True)
class PeerState:
    """A neighbour changed state: ``connected``, ``up`` or ``down`` (with ``reason``)."""

    peer: str
    state: str
    reason: str = ""


@dataclass(frozen=True)
class SentUpdate:
    """An UPDATE (or end-of-RIB, ``eor`` = family) that ExaBGP has written to ``peer``:
    how many prefixes it announced, and which it withdrew. The announced prefixes are only
    counted, not parsed: nothing needs them, and parsing every one cost the agent about
    10 % of its work for a bulk announcement."""

    peer: str
    announced: int = 0
    withdrawn: frozenset[IPNet] = frozenset()
    eor: str | None = None


@dataclass(frozen=True)
class Neighbors:
    """The answer of ``show neighbor json``: one dict per configured neighbour."""

    peers: tuple[dict[str, Any], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Notice:
    """Anything else (a text answer, an event we do not use, a shutdown notice)."""

    text: str


Event = Ack | PeerState | SentUpdate | Neighbors | Notice


def _groups(by_family: Any) -> list[list[Any]]:
    """The prefix lists of ``{"ipv4 unicast": {nexthop: [p, ...]}}`` or ``{"ipv4 unicast": [p, ...]}``."""
    if not isinstance(by_family, dict):
        return []
    out = []
    for value in by_family.values():
        for group in value.values() if isinstance(value, dict) else [value]:
            if isinstance(group, list):
                out.append(group)
    return out


def _prefixes(by_family: Any) -> frozenset[IPNet]:
    """Prefixes out of ``{"ipv4 unicast": {nexthop: [p, ...]}}`` or ``{"ipv4 unicast": [p, ...]}``."""
    out: set[IPNet] = set()
    for group in _groups(by_family):
        for item in group:
            text = item.get("nlri") if isinstance(item, dict) else item
            if isinstance(text, str):
                try:
                    out.add(ip_network(text, strict=False))
                except ValueError:
                    continue
    return frozenset(out)


def parse_line(line: str) -> Event:
    """Classify one line written by ExaBGP (without its newline). Never raises."""
    text = line.strip()
    if text == "done":
        return Ack(True)
    if text == "error":
        return Ack(False)
    if text.startswith("["):
        try:
            data = json.loads(text)
        except ValueError:
            return Notice(text)
        if isinstance(data, list):
            return Neighbors(tuple(d for d in data if isinstance(d, dict)))
        return Notice(text)
    if not text.startswith("{"):
        return Notice(text)
    try:
        data = json.loads(text)
    except ValueError:
        return Notice(text)
    if not isinstance(data, dict):
        return Notice(text)
    neighbor = data.get("neighbor")
    peer = ""
    if isinstance(neighbor, dict):
        address = neighbor.get("address")
        if isinstance(address, dict):
            peer = str(address.get("peer", ""))
    kind = data.get("type")
    if kind == "state" and isinstance(neighbor, dict):
        return PeerState(peer, str(neighbor.get("state", "")), str(neighbor.get("reason", "") or ""))
    if kind == "update" and isinstance(neighbor, dict) and neighbor.get("direction") == "send":
        message = neighbor.get("message")
        if not isinstance(message, dict):
            return Notice(text)
        if isinstance(message.get("eor"), dict):
            eor = message["eor"]
            return SentUpdate(peer, eor=f"{eor.get('afi', '')} {eor.get('safi', '')}")
        update = message.get("update")
        if isinstance(update, dict):
            announced = sum(len(group) for group in _groups(update.get("announce")))
            return SentUpdate(peer, announced=announced, withdrawn=_prefixes(update.get("withdraw")))
    return Notice(text)


def neighbor_summary(entry: dict[str, Any]) -> tuple[str, str, list[str]]:
    """``(peer address, "up"|"down", [established families])`` out of one ``Neighbors`` entry."""
    peer = entry.get("peer")
    address = str(peer.get("address", "")) if isinstance(peer, dict) else ""
    fams = entry.get("families")
    return address, str(entry.get("state", "down")), [str(f) for f in fams] if isinstance(fams, list) else []
