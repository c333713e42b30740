"""The running fabric against its intent: live state in, one :class:`Check` per expectation
out (pure). :func:`compare` never talks to a device; :mod:`fabric.validate.live` gathers
:class:`LiveState` through the deploy drivers' getters, host pings and the agents' status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import ip_network
from typing import Any, Literal

from fabric.deploy.driver import BgpNeighbor, EthernetSegment, Route, Vni
from fabric.design.intent import DeviceIntent
from fabric.validate.expect import ExpectedState, expected_service_routes

Status = Literal["pass", "fail", "skipped"]


@dataclass(frozen=True)
class Check:
    """One line of the validation table."""

    area: str
    """``session``, ``vni``, ``l3vni``, ``es``, ``ping``, ``service``, ``agent``."""
    device: str
    item: str
    expected: str
    seen: str
    status: Status
    peer: str = ""
    """For sessions: the device or node at the other end."""

    def as_dict(self) -> dict[str, str]:
        return {"area": self.area, "device": self.device, "item": self.item, "expected": self.expected,
                "seen": self.seen, "status": self.status, "peer": self.peer}


@dataclass
class LiveState:
    """What the devices, hosts and agents said. A device whose getters failed is in
    ``errors`` (with why) and nowhere else."""

    neighbors: dict[str, list[BgpNeighbor]] = field(default_factory=dict)
    vnis: dict[str, list[Vni]] = field(default_factory=dict)
    routes: dict[str, list[Route]] = field(default_factory=dict)
    segments: dict[str, list[EthernetSegment]] = field(default_factory=dict)
    segments_unsupported: dict[str, str] = field(default_factory=dict)
    """Device -> why its driver cannot read Ethernet segments (those checks are skipped)."""
    errors: dict[str, str] = field(default_factory=dict)
    pings: dict[tuple[str, str], bool] = field(default_factory=dict)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Node -> ``bgp-agent status --json`` (or ``{"error": why}``)."""


def announcing(agents: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Node -> the prefixes its agent announces now."""
    out: dict[str, list[str]] = {}
    for node, st in agents.items():
        out[node] = [p["prefix"] for p in st.get("prefixes", []) if p.get("state") == "announced"]
    return out


def compare(
    intents: Mapping[str, DeviceIntent],
    expected: ExpectedState,
    live: LiveState,
    *,
    tenant_vrfs: bool,
    vrf_skip_reason: str = "",
    segment_skip_reason: str = "",
) -> list[Check]:
    """Every expectation checked against ``live``, in a fixed order: sessions, VNIs, L3 VNIs,
    Ethernet segments, pings, service routes, agents. ``segment_skip_reason`` skips the
    Ethernet-segment checks (a lab whose kernel cannot bond the server's NICs)."""
    checks: list[Check] = []
    # sessions
    up: set[tuple[str, str]] = set()
    for dev, nbrs in live.neighbors.items():
        for n in nbrs:
            if n.up:
                up.add((dev, n.address))
    for s in expected.sessions:
        item = f"{s.kind} {s.address} ({s.peer})" + (f" vrf {s.vrf}" if s.vrf != "default" else "")
        if s.device in live.errors:
            checks.append(Check("session", s.device, item, "established", f"unreadable: {live.errors[s.device]}",
                                "fail", s.peer))
            continue
        found = next((n for n in live.neighbors.get(s.device, []) if n.address == s.address and n.vrf == s.vrf), None)
        state = "not configured" if found is None else str(found.state)
        checks.append(Check("session", s.device, item, "established", state,
                            "pass" if found is not None and found.up else "fail", s.peer))
    # L2 VNIs
    for v in expected.vnis:
        item = f"vni {v.vni} ({v.network})"
        want = ", ".join(v.remote_vteps) or "none"
        if v.device in live.errors:
            checks.append(Check("vni", v.device, item, f"remote VTEPs {want}", "unreadable", "fail"))
            continue
        got = next((x for x in live.vnis.get(v.device, []) if x.vni == v.vni), None)
        if got is None:
            checks.append(Check("vni", v.device, item, f"remote VTEPs {want}", "VNI missing", "fail"))
            continue
        seen = ", ".join(got.remote_vteps) or "none"
        ok = set(got.remote_vteps) == set(v.remote_vteps)
        checks.append(Check("vni", v.device, item, f"remote VTEPs {want}", f"remote VTEPs {seen}",
                            "pass" if ok else "fail"))
    # L3 VNIs (VRFs)
    for l3 in expected.l3vnis:
        item = f"l3vni {l3.l3vni} (vrf {l3.vrf})"
        if not tenant_vrfs:
            checks.append(Check("l3vni", l3.device, item, "L3 VNI up", vrf_skip_reason or "skipped", "skipped"))
            continue
        if l3.device in live.errors:
            checks.append(Check("l3vni", l3.device, item, "L3 VNI up", "unreadable", "fail"))
            continue
        got = next((x for x in live.vnis.get(l3.device, []) if x.vni == l3.l3vni and x.kind == "l3"), None)
        checks.append(Check("l3vni", l3.device, item, "L3 VNI up", "present" if got else "missing",
                            "pass" if got else "fail"))
    # Ethernet segments of dual-homed servers
    for e in expected.segments:
        item = f"es {e.esi} ({e.server})"
        want = f"local, with {e.peer} ({e.peer_vtep})"
        if segment_skip_reason:
            checks.append(Check("es", e.device, item, want, segment_skip_reason, "skipped", e.peer))
        elif e.device in live.errors:
            checks.append(Check("es", e.device, item, want, "unreadable", "fail", e.peer))
        elif e.device in live.segments_unsupported:
            checks.append(Check("es", e.device, item, want, f"skipped: {live.segments_unsupported[e.device]}",
                                "skipped", e.peer))
        else:
            es = next((x for x in live.segments.get(e.device, []) if x.esi.lower() == e.esi), None)
            if es is None:
                seen, ok = "ESI unknown", False
            else:
                vteps = ", ".join(es.vteps) or "no other VTEP"
                seen = f"{'local' if es.local else 'not local'}, with {vteps}"
                ok = es.local and e.peer_vtep in es.vteps
            checks.append(Check("es", e.device, item, want, seen, "pass" if ok else "fail", e.peer))
    # pings
    for p in expected.pings:
        answered = live.pings.get((p.host, p.target))
        said = "no answer" if answered is False else "answered" if answered else "not run"
        checks.append(Check("ping", p.host, f"{p.target} ({p.what})", "answered", said,
                            "pass" if answered else "fail"))
    # service routes
    healthy = announcing({n: st for n, st in live.agents.items() if "error" not in st})
    for r in expected_service_routes(intents, healthy, up, tenant_vrfs):
        if r.device in live.errors:
            checks.append(Check("service", r.device, f"{r.prefix}", _hops(r.next_hops), "unreadable", "fail"))
            continue
        route = next((x for x in live.routes.get(r.device, []) if x.prefix == r.prefix), None)
        seen_hops = route.next_hops if route is not None else ()
        # IPv6: FRR's next hops are the peers' link-local addresses, so only the width counts
        v6 = ip_network(r.prefix).version == 6
        same = len(seen_hops) == len(r.next_hops) if v6 else set(seen_hops) == set(r.next_hops)
        route_seen = _hops(seen_hops) if route is not None else "no route"
        checks.append(Check("service", r.device, f"{r.prefix} ECMP width {len(r.next_hops)}",
                            f"{_hops(r.next_hops)}: {r.why}", route_seen, "pass" if same else "fail"))
    # agents: sessions up, services announced
    for a in expected.agents:
        st = live.agents.get(a.node)
        if st is None or "error" in st:
            why = st.get("error", "no status") if st else "no status"
            checks.append(Check("agent", a.node, "bgp-agent", "running, sessions up", f"unreadable: {why}", "fail"))
            continue
        peers = {str(p.get("address")): str(p.get("state")) for p in st.get("peers", [])}
        for addr in a.peers:
            state = peers.get(addr, "not configured")
            checks.append(Check("agent", a.node, f"session {addr}", "up", state, "pass" if state == "up" else "fail",
                                peer=""))
        for p in st.get("prefixes", []):
            state = str(p.get("state"))
            why = f" ({p.get('reason')})" if p.get("reason") else ""
            check = f", check {p.get('check')}" if p.get("check") else ""
            checks.append(Check("agent", a.node, f"service {p.get('service')} {p.get('prefix')}", "announced",
                                f"{state}{check}{why}", "pass" if state == "announced" else "fail"))
    return checks


def _hops(hops: tuple[str, ...]) -> str:
    return ", ".join(hops) if hops else "none"


def summary(checks: list[Check]) -> dict[str, int]:
    out = {"pass": 0, "fail": 0, "skipped": 0}
    for c in checks:
        out[c.status] += 1
    return out
