"""Guard rails: what may be announced, by tables."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from bgp import guard
from bgp.config import AgentConfig, validate_config
from bgp.sources.base import DesiredService

N = ip_network


def config(**over: object) -> AgentConfig:
    data: dict[str, object] = {
        "asn": 65101,
        "router_id": "10.0.0.11",
        "peers": [{"address": "10.1.0.1", "asn": 65001}],
        "guard": {"allowed_ranges": ["192.0.2.0/24", "2001:db8:53::/48"], "max_prefixes": 3},
        "attributes": {"communities": ["65101:1"], "med": 5},
        "checks": {"dns": {"kind": "tcp", "host": "127.0.0.1", "port": 53}},
    }
    data.update(over)
    return validate_config(data)


def svc(key: str, *prefixes: str, check: str | None = None, communities: tuple[str, ...] = ()) -> DesiredService:
    return DesiredService(key, frozenset(N(p) for p in prefixes), check=check, communities=communities)


def decide(
    services: list[DesiredService],
    up: set[str] = frozenset({"dns"}),
    draining: bool = False,  # type: ignore[assignment]
    cfg: AgentConfig | None = None,
) -> guard.Plan:
    cfg = cfg or config()
    return guard.plan({s.key: s for s in services}, lambda c: c in up, cfg.checks, cfg, draining)


REFUSED = [
    ("out of range", svc("static/a", "198.51.100.1/32"), "outside the allowed ranges"),
    ("a /24", svc("static/a", "192.0.2.0/24"), "prefix length /24 not allowed (allowed: /32)"),
    ("a v6 /64", svc("static/a", "2001:db8:53::/64"), "prefix length /64 not allowed (allowed: /128)"),
    ("v6 out of range", svc("static/a", "2001:db8:54::1/128"), "outside the allowed ranges"),
    (
        "name with a newline",
        svc("k8s/default/web\nannounce route 0.0.0.0/0 next-hop self", "192.0.2.1/32"),
        "service key 'k8s/default/web\\nannounce route 0.0.0.0/0 next-hop self' has characters that are not allowed",
    ),
    (
        "check with a space",
        svc("static/a", "192.0.2.1/32", check="dns x"),
        "check name 'dns x' has characters that are not allowed",
    ),
    ("unknown check", svc("static/a", "192.0.2.1/32", check="nope"), "no check named 'nope'"),
    (
        "community injection",
        svc("k8s/ns/a", "192.0.2.1/32", communities=("65000:1 ] nlri 0.0.0.0/0",)),
        "'65000:1 ] nlri 0.0.0.0/0' is not a community (ASN:VALUE, each 0..65535)",
    ),
]


@pytest.mark.parametrize(("service", "reason"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused(service: DesiredService, reason: str) -> None:
    plan = decide([service])
    assert plan.announce == {}
    (decision,) = plan.decisions.values()
    assert decision.state == "refused"
    assert decision.reason == reason


def test_allowed_host_routes_get_configured_and_service_attributes() -> None:
    plan = decide([svc("static/dns", "192.0.2.53/32", "2001:db8:53::53/128", check="dns", communities=("65101:53",))])
    assert set(plan.announce) == {N("192.0.2.53/32"), N("2001:db8:53::53/128")}
    attrs = plan.announce[N("192.0.2.53/32")]
    assert attrs.communities == ("65101:1", "65101:53")
    assert attrs.med == 5
    assert attrs.next_hop is None  # next-hop self


def test_unhealthy_service_is_not_announced() -> None:
    plan = decide([svc("static/dns", "192.0.2.53/32", check="dns")], up=set())
    assert plan.announce == {}
    assert plan.decisions[N("192.0.2.53/32")].state == "unhealthy"


def test_prefix_stays_while_one_wanting_service_is_healthy() -> None:
    cfg = config(
        checks={"dns": {"kind": "tcp", "host": "127.0.0.1", "port": 53}, "web": {"kind": "tcp", "host": "127.0.0.1", "port": 80}}
    )
    services = [
        svc("static/a", "192.0.2.1/32", check="dns", communities=("65101:10",)),
        svc("static/b", "192.0.2.1/32", check="web", communities=("65101:20",)),
    ]
    plan = decide(services, up={"web"}, cfg=cfg)
    assert plan.announce[N("192.0.2.1/32")].communities == ("65101:1", "65101:20")
    assert plan.decisions[N("192.0.2.1/32")].services == ("static/b",)


def test_max_prefixes_refuses_the_highest() -> None:
    plan = decide([svc("static/a", *(f"192.0.2.{i}/32" for i in range(1, 6)))])
    assert sorted(plan.announce) == [N(f"192.0.2.{i}/32") for i in (1, 2, 3)]
    assert plan.decisions[N("192.0.2.5/32")].reason == "over max_prefixes (3)"


def test_draining_adds_graceful_shutdown() -> None:
    plan = decide([svc("static/a", "192.0.2.1/32")], draining=True)
    assert "65535:0" in plan.announce[N("192.0.2.1/32")].communities


def test_refused_service_does_not_hide_a_good_one() -> None:
    plan = decide([svc("static/bad\n", "192.0.2.1/32"), svc("static/good", "192.0.2.2/32")])
    assert list(plan.announce) == [N("192.0.2.2/32")]
    assert "static/bad\n" in plan.refused_services


def test_configured_lengths_allow_more() -> None:
    cfg = config(guard={"allowed_ranges": ["192.0.2.0/24"], "ipv4_lengths": [32, 28]})
    plan = decide([svc("static/a", "192.0.2.16/28")], cfg=cfg)
    assert list(plan.announce) == [N("192.0.2.16/28")]
