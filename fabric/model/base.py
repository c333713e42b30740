"""Shared building blocks of the inventory model."""

from __future__ import annotations

import re
import socket
from ipaddress import IPv4Interface, IPv6Interface
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class StrictModel(BaseModel):
    """Base of every inventory object: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_default=False)


Name = Annotated[
    str,
    Field(pattern=NAME_RE.pattern, description="a stable key: letters, digits, '.', '_', '-'"),
]

ASN_MAX = 4294967295
"""The largest 4-byte ASN (RFC 6793); ASN 0 is reserved (RFC 7607)."""


def _parse_range(v: Any) -> Any:
    """Accept ``"10-20"``, ``10``, ``[10, 20]`` or ``{first: 10, last: 20}``."""
    if isinstance(v, bool):
        raise ValueError("expected a number or a range 'FIRST-LAST'")
    if isinstance(v, int):
        return {"first": v, "last": v}
    if isinstance(v, str):
        parts = v.replace(" ", "").split("-")
        if len(parts) == 1 and parts[0].isdigit():
            return {"first": int(parts[0]), "last": int(parts[0])}
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            return {"first": int(parts[0]), "last": int(parts[1])}
        raise ValueError(f"expected a range 'FIRST-LAST', got {v!r}")
    if isinstance(v, list | tuple) and len(v) == 2:
        return {"first": v[0], "last": v[1]}
    return v


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    first: int
    last: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.first <= value <= self.last

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"

    def overlaps(self, other: _Range) -> bool:
        return self.first <= other.last and other.first <= self.last


class IntRange(_Range):
    """An inclusive range of integers, written ``FIRST-LAST`` (or a single number)."""


RangeIn = Annotated[IntRange, BeforeValidator(_parse_range), PlainSerializer(str)]


def _check_asn(value: int) -> int:
    if not 1 <= value <= ASN_MAX:
        raise ValueError(f"ASN {value} is outside 1..{ASN_MAX}")
    return value


def _check_asn_range(r: IntRange) -> IntRange:
    if not (1 <= r.first <= ASN_MAX and 1 <= r.last <= ASN_MAX):
        raise ValueError(f"ASN {r} is outside 1..{ASN_MAX}")
    if r.first > r.last:
        raise ValueError("range first is greater than last")
    return r


Asn = Annotated[int, AfterValidator(_check_asn)]
"""An AS number, 1..4294967295: the model checks the bounds, nothing re-checks them."""

AsnRange = Annotated[IntRange, BeforeValidator(_parse_range), AfterValidator(_check_asn_range), PlainSerializer(str)]
"""A range of AS numbers (``FIRST-LAST`` or one number), both ends 1..4294967295, first <= last."""


def _needs_prefix(v: Any) -> Any:
    if isinstance(v, str) and "/" not in v:
        example = "2001:db8::1/64" if ":" in v else "10.1.1.1/24"
        raise ValueError(f"{v!r} has no prefix length: write the address with its subnet's length, e.g. {example}")
    return v


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PLAIN_V4_INTERFACE = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}/(?:3[0-2]|[12]?\d)\Z")
_PLAIN_V6_LENGTH = re.compile(r"(?:12[0-8]|1[01]\d|[1-9]?\d)\Z")


def _interface4(v: Any) -> Any:
    """``a.b.c.d/n`` written plainly, parsed by the C library (``ipaddress`` parses every
    address two or three times in Python: 10,000 gateways are a third of loading a large
    inventory, tests/bench/test_load.py). Anything else goes to pydantic unchanged, so
    its errors are the usual ones."""
    v = _needs_prefix(v)
    if isinstance(v, str) and _PLAIN_V4_INTERFACE.match(v):
        addr, _, length = v.partition("/")
        return IPv4Interface((int.from_bytes(socket.inet_aton(addr), "big"), int(length)))
    return v


def _interface6(v: Any) -> Any:
    """The IPv6 form of :func:`_interface4` (``inet_pton`` refuses what ``ipaddress``
    would also refuse; a scope id or an odd length goes the usual way)."""
    v = _needs_prefix(v)
    if isinstance(v, str):
        addr, _, length = v.partition("/")
        if _PLAIN_V6_LENGTH.match(length):
            try:
                packed = socket.inet_pton(socket.AF_INET6, addr)
            except OSError:
                return v
            return IPv6Interface((int.from_bytes(packed, "big"), int(length)))
    return v


WithPrefix = BeforeValidator(_interface4)
"""For IPv4 interface addresses (``IPv4Interface``): a prefix length must be written, not
defaulted to /32 (a gateway ``10.1.1.1`` would silently be a /32 subnet)."""

WithPrefix6 = BeforeValidator(_interface6)
""":data:`WithPrefix` for ``IPv6Interface``."""
