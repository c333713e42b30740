"""Shared building blocks of the inventory model."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class StrictModel(BaseModel):
    """Base of every inventory object: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_default=False)


Name = Annotated[
    str,
    Field(pattern=NAME_RE.pattern, description="a stable key: letters, digits, '.', '_', '-'"),
]

ASN_MAX = 4294967295


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


def _needs_prefix(v: Any) -> Any:
    if isinstance(v, str) and "/" not in v:
        example = "2001:db8::1/64" if ":" in v else "10.1.1.1/24"
        raise ValueError(f"{v!r} has no prefix length: write the address with its subnet's length, e.g. {example}")
    return v


WithPrefix = BeforeValidator(_needs_prefix)
"""For interface addresses (``IPv4Interface``): a prefix length must be written, not
defaulted to /32 (a gateway ``10.1.1.1`` would silently be a /32 subnet)."""
