"""Integer views of pools: every pool is a range of ints with a step.

Addresses become ints (IPv4/IPv6) and prefixes become their network address as int with
a step (a /31 pool steps by 2), so allocation is the same code for every kind of value.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from fabric.errors import PoolExhausted


@dataclass(frozen=True)
class IntPool:
    """Values ``first, first+step, ...`` up to ``last``; ``show``/``parse`` convert them
    to and from the text stored in the ledger."""

    name: str
    first: int
    last: int
    step: int
    show: Callable[[int], str | int]
    parse: Callable[[object], int]
    reserved: frozenset[int] = frozenset()
    """Values inside the range that are never handed out (used by the design itself)."""

    def __contains__(self, value: int) -> bool:
        return self.first <= value <= self.last and (value - self.first) % self.step == 0

    @property
    def size(self) -> int:
        return (self.last - self.first) // self.step + 1

    def describe(self) -> str:
        return self.name


# Addresses as text <-> int without an ipaddress object in between: planning a ledger
# converts every address and prefix both ways (some 8,000 on the benchmark fabric of
# tests/bench/test_build.py, about 60 ms through ipaddress objects). The text is exactly
# ipaddress's (a test compares them); a text in any other form than the one printed here
# goes through ipaddress, so what is accepted and every error message stay its own.


def ipv4_text(i: int) -> str:
    """``str(IPv4Address(i))``."""
    return f"{i >> 24}.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"


def ipv6_text(i: int) -> str:
    """``str(IPv6Address(i))``: hextets in lower-case hex, the first longest run of two or
    more zero hextets written ``::``."""
    if i >> 32 == 0xFFFF:  # IPv4-mapped: printed differently by Python versions; theirs
        return str(IPv6Address(i))
    words = [i >> s & 0xFFFF for s in range(112, -16, -16)]
    best, best_len, run, run_len = -1, 1, -1, 0
    for k, w in enumerate(words):
        if w == 0:
            if run_len == 0:
                run = k
            run_len += 1
            if run_len > best_len:
                best, best_len = run, run_len
        else:
            run_len = 0
    hexed = [f"{w:x}" for w in words]
    if best < 0:
        return ":".join(hexed)
    return ":".join(hexed[:best]) + "::" + ":".join(hexed[best + best_len:])


def ipv4_int(text: str) -> int | None:
    """The address ``text`` as an int if it is written as :func:`ipv4_text` writes it, else None."""
    try:
        i = int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, ValueError):
        return None
    return i if ipv4_text(i) == text else None


def ipv6_int(text: str) -> int | None:
    """The address ``text`` as an int if it is written as :func:`ipv6_text` writes it, else None."""
    try:
        i = int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except (OSError, ValueError):
        return None
    return i if ipv6_text(i) == text else None


def int_pool(name: str, first: int, last: int, reserved: frozenset[int] = frozenset()) -> IntPool:
    """A pool of plain integers (ASN, VLAN, VNI, ids)."""

    def parse(v: object) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected an integer, got {v!r}")
        return v

    return IntPool(name, first, last, 1, lambda i: i, parse, reserved)


def address_pool(name: str, net: IPv4Network | IPv6Network, skip_network: bool = False) -> IntPool:
    """One host address per value (loopbacks, VTEPs). ``skip_network`` leaves out the
    all-zeros address of prefixes shorter than /31."""
    first = int(net.network_address)
    last = int(net.broadcast_address)
    if skip_network and net.prefixlen < net.max_prefixlen - 1:
        first += 1
        last -= 1 if net.version == 4 else 0
    text, fast = (ipv4_text, ipv4_int) if net.version == 4 else (ipv6_text, ipv6_int)
    known: dict[int, str] = {}  # value -> its text, for the values parsed from their own text

    def show(i: int) -> str:
        return known.get(i) or text(i)

    def parse(v: object) -> int:
        if type(v) is str:
            i = fast(v)
            if i is not None:
                known[i] = v
                return i
        a = ip_address(str(v))
        if a.version != net.version:  # an IPv6 value in an IPv4 pool would not even print
            raise ValueError(f"expected an IPv{net.version} address, got {v!r}")
        return int(a)

    return IntPool(name, first, last, 1, show, parse)


def subnet_pool(name: str, net: IPv4Network | IPv6Network, prefixlen: int) -> IntPool:
    """One subnet of length ``prefixlen`` per value (p2p /31 and /127)."""
    step = 1 << (net.max_prefixlen - prefixlen)
    first = int(net.network_address)
    last = int(net.broadcast_address) - step + 1
    text, fast = (ipv4_text, ipv4_int) if net.version == 4 else (ipv6_text, ipv6_int)
    suffix = f"/{prefixlen}"
    host_bits = step - 1
    known: dict[int, str] = {}  # value -> its text, for the values parsed from their own text

    def show(i: int) -> str:
        return known.get(i) or text(i) + suffix

    def parse(v: object) -> int:
        if type(v) is str and v.endswith(suffix):
            i = fast(v[:-len(suffix)])
            if i is not None and not i & host_bits:
                known[i] = v
                return i
        n = ip_network(str(v))
        if n.version != net.version:
            raise ValueError(f"expected an IPv{net.version} subnet, got {v!r}")
        if n.prefixlen != prefixlen:
            raise ValueError(f"expected a /{prefixlen}, got {v}")
        return int(n.network_address)

    return IntPool(name, first, last, step, show, parse)


def mac_pool(name: str, base: str, count: int) -> IntPool:
    """MACs ``base + 1`` .. ``base + count`` (LACP system ids), lower-case colon form."""
    first = int(base.replace(":", ""), 16) + 1

    def show(i: int) -> str:
        h = f"{i:012x}"
        return ":".join(h[j:j + 2] for j in range(0, 12, 2))

    def parse(v: object) -> int:
        text = str(v).lower()
        parts = text.split(":")
        if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdef" for c in p) for p in parts):
            raise ValueError(f"expected a MAC like 02:4c:53:00:00:01, got {v!r}")
        return int("".join(parts), 16)

    return IntPool(name, first, min(first + count - 1, 0xFFFFFFFFFFFF), 1, show, parse)


class FreeList:
    """Hands out the lowest free values of a pool, skipping those in use.

    Plain integers and a cursor, not ``netaddr.IPSet``: taking 5,000 free addresses of a
    /16 with 10,000 in use costs 5 ms here and 460 ms as ``IPSet(pool) - IPSet(used)``
    iterated (measured for issue 10), and the ledger plans tens of thousands of values."""

    def __init__(self, pool: IntPool, used: Iterable[int]) -> None:
        self.pool = pool
        self.used = set(used) | pool.reserved
        self.cursor = pool.first

    def take(self, key: str) -> int:
        p = self.pool
        c = self.cursor
        while c <= p.last and c in self.used:
            c += p.step
        if c > p.last:
            raise PoolExhausted(
                f"pool {p.name} is exhausted: no value left for {key} "
                f"({p.size} values; stale entries are freed only by `fabric plan --prune`)",
                p.name,
            )
        self.used.add(c)
        self.cursor = c + p.step
        return c
