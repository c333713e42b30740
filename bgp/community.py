"""BGP community syntax: the one place that knows what a community looks like. A leaf module.

Every community that reaches ExaBGP passes through :func:`parse_community` or
:func:`parse_large_community` (config models, Kubernetes annotations, guard rails, the
command builder all call these), so the accepted syntax cannot drift between them.
"""

from __future__ import annotations

import re

GRACEFUL_SHUTDOWN = "65535:0"
"""RFC 8326 well-known community asking receivers to lower the preference of a route."""

_COMMUNITY = re.compile(r"([0-9]{1,5}):([0-9]{1,5})")
_LARGE_COMMUNITY = re.compile(r"([0-9]{1,10}):([0-9]{1,10}):([0-9]{1,10})")


def parse_community(value: str) -> str:
    """``A:B`` with both halves 0..65535, normalised (no leading zeros); ValueError otherwise."""
    m = _COMMUNITY.fullmatch(value) if isinstance(value, str) else None
    if m is None or int(m.group(1)) > 0xFFFF or int(m.group(2)) > 0xFFFF:
        raise ValueError(f"{value!r} is not a community (ASN:VALUE, each 0..65535)")
    return f"{int(m.group(1))}:{int(m.group(2))}"


def parse_large_community(value: str) -> str:
    """``A:B:C`` with each part 0..4294967295 (RFC 8092), normalised; ValueError otherwise."""
    m = _LARGE_COMMUNITY.fullmatch(value) if isinstance(value, str) else None
    if m is None or any(int(g) > 0xFFFFFFFF for g in m.groups()):
        raise ValueError(f"{value!r} is not a large community (ASN:X:Y, each 0..4294967295)")
    return ":".join(str(int(g)) for g in m.groups())


def sort_key(value: str) -> tuple[int, ...]:
    """Numeric order of a (large) community; malformed text sorts first."""
    try:
        return tuple(int(x) for x in value.split(":"))
    except ValueError:
        return (-1,)
