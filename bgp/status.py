"""The rows of ``bgp-agent status --json`` that are computed, not copied. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from bgp.community import GRACEFUL_SHUTDOWN
from bgp.guard import Plan
from bgp.peers import PeerInfo
from bgp.refusals import Refusal, Refusals
from bgp.sources.base import SourceStatus
from bgp.speaker.commands import RouteAttributes, sort_key

IPNet = IPv4Network | IPv6Network


_order = sort_key


def prefix_rows(
    plan: Plan, current: Mapping[IPNet, RouteAttributes], draining: bool, refusals: Refusals | None = None
) -> list[dict[str, Any]]:
    """One row per desired prefix (its state: announced, draining, pending,
    withdrawn-drained, withdrawn-unhealthy, refused), then one per prefix still announced
    that nothing wants any more (withdrawing). A prefix whose last change ExaBGP refused is
    ``retrying`` or, once the attempts are spent, ``failed``, with ExaBGP's reason."""
    refusals = refusals or Refusals()
    rows = []
    for p, d in sorted(plan.decisions.items(), key=lambda kv: _order(kv[0])):
        r = refusals.get(p)
        if r is not None:
            rows.append(_refused_row(p, ",".join(d.services), d.check, r))
            continue
        if p in current:
            state = "draining" if GRACEFUL_SHUTDOWN in current[p].communities else "announced"
        elif d.state == "announce":
            state = "withdrawn-drained" if draining else "pending"
        elif d.state == "unhealthy":
            state = "withdrawn-unhealthy"
        else:
            state = "refused"
        rows.append({"prefix": p.with_prefixlen, "service": ",".join(d.services), "state": state, "check": d.check,
                     "reason": d.reason})
    for p in sorted(set(current) - set(plan.decisions), key=_order):
        r = refusals.get(p)
        if r is not None:
            rows.append(_refused_row(p, "", None, r))
        else:
            rows.append({"prefix": p.with_prefixlen, "service": "", "state": "withdrawing", "check": None, "reason": ""})
    return rows


def _refused_row(p: IPNet, service: str, check: str | None, r: Refusal) -> dict[str, Any]:
    reason = f"ExaBGP refused to {r.action} it ({r.attempts} attempts): {r.reason}"
    return {"prefix": p.with_prefixlen, "service": service, "state": "failed" if r.failed else "retrying", "check": check,
            "reason": reason}


def peer_rows(peers: Iterable[PeerInfo]) -> list[dict[str, Any]]:
    """One row per configured peer."""
    return [
        {"name": p.name, "address": p.address, "state": p.state, "since": p.since, "families": list(p.families)}
        for p in peers
    ]


def source_rows(statuses: Iterable[SourceStatus]) -> list[dict[str, Any]]:
    """One row per source."""
    return [
        {
            "name": st.name,
            "synced": st.synced,
            "stale": st.stale,
            "sync_errors": st.sync_errors,
            "last_contact": st.last_contact,
            "last_error": st.last_error,
            "detail": dict(st.detail),
        }
        for st in statuses
    ]
