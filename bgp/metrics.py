"""Prometheus metrics of the agent, in a registry of its own (tests can create several).

Names and labels are part of the documented interface (docs/bgp-agent.md); the agent
updates them, :func:`serve` exposes them over HTTP.
"""

from __future__ import annotations

from collections import Counter as Counter_
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.exposition import generate_latest

from bgp.sources.base import SourceStatus


class AgentMetrics:
    """Every metric the agent exports. Safe to update from the event loop thread."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.announced = Gauge("bgp_agent_announced_prefixes", "Prefixes announced to ExaBGP (acked)", registry=r)
        self.desired = Gauge("bgp_agent_desired_prefixes", "Prefixes wanted by some source", registry=r)
        self.refused = Gauge("bgp_agent_refused_prefixes", "Desired prefixes refused by the guard rails", registry=r)
        self.unhealthy = Gauge("bgp_agent_unhealthy_prefixes", "Desired prefixes held back by a failing check", registry=r)
        self.check_up = Gauge("bgp_agent_check_up", "1 while the check is up, 0 down, -1 unknown", ["check"], registry=r)
        self.check_transitions = Counter(
            "bgp_agent_check_transitions", "Status changes of a check", ["check", "to"], registry=r
        )
        self.peer_up = Gauge("bgp_agent_peer_up", "1 while the BGP session is established", ["peer"], registry=r)
        self.source_synced = Gauge("bgp_agent_source_synced", "1 once the source has a complete view", ["source"], registry=r)
        self.source_stale = Gauge("bgp_agent_source_stale", "1 while serving its last known view", ["source"], registry=r)
        self.source_errors = Gauge("bgp_agent_source_sync_errors", "Sync errors of the source so far", ["source"], registry=r)
        self.source_contact = Gauge(
            "bgp_agent_source_last_contact_timestamp_seconds", "Last successful contact of a source", ["source"], registry=r
        )
        self.api_contact = Gauge(
            "bgp_agent_exabgp_last_api_contact_timestamp_seconds", "Last line read from ExaBGP's API", registry=r
        )
        self.draining = Gauge("bgp_agent_draining", "1 while draining", registry=r)
        self.failed = Gauge(
            "bgp_agent_failed_prefixes", "Prefixes whose change ExaBGP refused on every attempt", registry=r
        )
        self.commands = Counter("bgp_agent_speaker_commands", "Commands written to ExaBGP by ack result", ["result"], registry=r)
        self.speaker_restarts = Counter("bgp_agent_exabgp_restarts", "Times ExaBGP had to be started again", registry=r)

    def start(self, checks: Iterable[str], peers: Iterable[str]) -> None:
        """Before anything is known: every check unknown (-1), every peer down."""
        for name in checks:
            self.check_up.labels(name).set(-1)
        for name in peers:
            self.peer_up.labels(name).set(0)

    def observe_decisions(self, states: Iterable[str]) -> None:
        """The guard rails decided: one state (announce, unhealthy, refused) per desired prefix."""
        counts = Counter_(states)
        self.desired.set(sum(counts.values()))
        self.refused.set(counts["refused"])
        self.unhealthy.set(counts["unhealthy"])

    def observe_check(self, name: str, status: str) -> None:
        """A check changed to ``status`` (up, down, unknown)."""
        self.check_transitions.labels(name, status).inc()
        self.check_up.labels(name).set({"up": 1, "down": 0}.get(status, -1))

    def observe_sources(self, statuses: Iterable[SourceStatus]) -> None:
        for st in statuses:
            self.source_synced.labels(st.name).set(1 if st.synced else 0)
            self.source_stale.labels(st.name).set(1 if st.stale else 0)
            self.source_errors.labels(st.name).set(st.sync_errors)
            if st.last_contact is not None:
                self.source_contact.labels(st.name).set(st.last_contact)

    def render(self) -> bytes:
        """The text exposition format (what a scrape returns)."""
        return generate_latest(self.registry)


def serve(metrics: AgentMetrics, listen: str) -> None:
    """Expose ``metrics`` on ``HOST:PORT`` (a daemon thread of prometheus_client)."""
    host, _, port = listen.rpartition(":")
    start_http_server(int(port), addr=host.strip("[]"), registry=metrics.registry)
