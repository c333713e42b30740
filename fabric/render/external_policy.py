"""The external sessions' import and export policies as the line-oriented CLIs (NX-OS,
FRR) print them: per session and direction one prefix list per address family (exact
prefixes) and one route-map per family that permits what the list matches (a family with
nothing to permit gets a route-map that denies everything)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

from fabric.design.intent import ExternalSession
from fabric.render.cli_text import cli_word
from fabric.render.k8s_policy import PrefixListEntry


@dataclass(frozen=True, slots=True)
class ExternalFilter:
    """One direction of one family: ``route-map NAME`` matching ``prefix-list NAME``."""

    name: str
    """Both the prefix list's and the route-map's name."""
    family: str
    """``ip`` or ``ipv6`` (the prefix-list and ``match`` keyword)."""
    entries: tuple[PrefixListEntry, ...]


@dataclass(frozen=True, slots=True)
class ExternalPolicy:
    """The four filters of one external session, and the session."""

    session: ExternalSession
    in4: ExternalFilter
    out4: ExternalFilter
    in6: ExternalFilter
    out6: ExternalFilter

    @property
    def filters(self) -> tuple[ExternalFilter, ...]:
        """The filters of the families the session has (IPv6 only with an IPv6 session)."""
        if self.session.peer_address6 is None:
            return (self.in4, self.out4)
        return (self.in4, self.out4, self.in6, self.out6)


def _entries(prefixes: tuple[IPv4Network | IPv6Network, ...]) -> tuple[PrefixListEntry, ...]:
    return tuple(PrefixListEntry(10 * (i + 1), p, "") for i, p in enumerate(prefixes))


def external_policy(s: ExternalSession) -> ExternalPolicy:
    """Names and entries of ``s``'s filters: ``EXT-<ROUTER>-<VRF>-IN4`` ... ``-OUT6``."""
    base = "EXT-" + cli_word(s.router, "external router name", 40).upper() + "-" + cli_word(s.vrf, "VRF name", 32).upper()
    return ExternalPolicy(
        session=s,
        in4=ExternalFilter(f"{base}-IN4", "ip", _entries(s.accept4)),
        out4=ExternalFilter(f"{base}-OUT4", "ip", _entries(s.announce4)),
        in6=ExternalFilter(f"{base}-IN6", "ipv6", _entries(s.accept6)),
        out6=ExternalFilter(f"{base}-OUT6", "ipv6", _entries(s.announce6)),
    )


__all__ = ["ExternalFilter", "ExternalPolicy", "external_policy"]
