"""Parsing of `ip -j route` output (no kernel needed)."""

from __future__ import annotations

import json

from fabric.lab import Nexthop, parse_routes


def test_single_path_and_host_route() -> None:
    text = json.dumps(
        [
            {"dst": "default", "gateway": "10.0.0.1", "dev": "eth1", "protocol": "bgp", "metric": 20, "flags": []},
            {"dst": "192.0.2.10", "gateway": "10.0.0.3", "dev": "eth2", "protocol": "bgp", "metric": 20, "flags": []},
            {"dst": "10.0.0.0/31", "dev": "eth1", "protocol": "kernel", "scope": "link", "prefsrc": "10.0.0.0", "flags": []},
            {"type": "blackhole", "dst": "198.51.100.0/24", "protocol": "static", "metric": 20, "flags": []},
        ]
    )
    routes = {r.dst: r for r in parse_routes(text, 4)}
    assert set(routes) == {"0.0.0.0/0", "192.0.2.10/32", "10.0.0.0/31", "198.51.100.0/24"}
    assert routes["192.0.2.10/32"].gateways == {"10.0.0.3"}
    assert routes["10.0.0.0/31"].nexthops == (Nexthop(None, "eth1"),)
    assert routes["198.51.100.0/24"].type == "blackhole" and routes["198.51.100.0/24"].gateways == frozenset()


def test_multipath_v4_and_v6() -> None:
    v4 = json.dumps(
        [
            {
                "dst": "192.0.2.10",
                "nhid": 42,
                "protocol": "bgp",
                "metric": 20,
                "flags": [],
                "nexthops": [
                    {"gateway": "10.1.0.5", "dev": "eth3", "weight": 1, "flags": []},
                    {"gateway": "10.1.0.1", "dev": "eth1", "weight": 1, "flags": []},
                    {"gateway": "10.1.0.3", "dev": "eth2", "weight": 2, "flags": []},
                ],
            }
        ]
    )
    (r,) = parse_routes(v4, 4)
    assert r.gateways == {"10.1.0.1", "10.1.0.3", "10.1.0.5"}
    assert [h.dev for h in r.nexthops] == ["eth1", "eth2", "eth3"]  # sorted, stable to compare
    assert {h.gateway: h.weight for h in r.nexthops}["10.1.0.3"] == 2
    v6 = json.dumps(
        [
            {
                "dst": "2001:db8::10",
                "protocol": "bgp",
                "nexthops": [
                    {"gateway": "fd00::1", "dev": "eth1"},
                    {"via": {"family": "inet6", "host": "fd00::3"}, "dev": "eth2"},
                ],
            },
            {"dst": "default", "gateway": "fe80::1", "dev": "eth1", "protocol": "ra"},
        ]
    )
    routes = {r.dst: r for r in parse_routes(v6, 6)}
    assert routes["2001:db8::10/128"].gateways == {"fd00::1", "fd00::3"}
    assert "::/0" in routes


def test_empty_output() -> None:
    assert parse_routes("", 4) == [] and parse_routes("[]", 6) == []
