"""Parsing what ExaBGP 5.0 writes to the API process (lines captured from a real ExaBGP)."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from bgp.speaker.events import Ack, Neighbors, Notice, PeerState, SentUpdate, neighbor_summary, parse_line

HEAD = '{ "exabgp": "5.0.0", "time": 1.5, "host" : "vm", "pid" : 1, "ppid" : 1, "counter": 3, '
NEIGH = '"neighbor": { "address": { "local": "10.99.0.2", "peer": "10.99.0.1" }, "asn": { "local": 65101, "peer": 65001 }, "router-id": "10.99.0.2" , '  # noqa: E501

CASES = [
    ("done", "done", Ack(True)),
    ("error", "error", Ack(False)),
    ("text answer", "exabgp 5.0.15", Notice("exabgp 5.0.15")),
    ("peer up", HEAD + '"type": "state", ' + NEIGH + '"state": "up" } }', PeerState("10.99.0.1", "up")),
    (
        "peer down",
        HEAD + '"type": "state", ' + NEIGH + '"state": "down", "reason": "peer reset" } }',
        PeerState("10.99.0.1", "down", "peer reset"),
    ),
    (
        "sent announce",
        HEAD + '"type": "update", ' + NEIGH + '"direction": "send", "message": { "update": { "attribute": '
        '{ "origin": "igp" }, "announce": { "ipv4 unicast": { "10.99.0.2": [ "192.0.2.53/32", "192.0.2.54/32" ] } } } } } }',
        SentUpdate("10.99.0.1", announced=2),
    ),
    (
        "sent withdraw",
        HEAD + '"type": "update", ' + NEIGH + '"direction": "send", "message": { "update": { "withdraw": '
        '{ "ipv4 unicast": [ "192.0.2.53/32" ] } } } } }',
        SentUpdate("10.99.0.1", withdrawn=frozenset({ip_network("192.0.2.53/32")})),
    ),
    (
        "sent eor",
        HEAD + '"type": "update", ' + NEIGH + '"direction": "send", "message": { "eor": { "afi" : "ipv4", '
        '"safi" : "unicast" } } } }',
        SentUpdate("10.99.0.1", eor="ipv4 unicast"),
    ),
    (
        "received update is not ours",
        HEAD + '"type": "update", ' + NEIGH + '"direction": "receive", "message": { "update": { } } } }',
        None,
    ),
    ("garbage json", "{ not json", Notice("{ not json")),
]


@pytest.mark.parametrize(("line", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_line(line: str, expected: object) -> None:
    event = parse_line(line)
    if expected is None:
        assert isinstance(event, Notice)
    else:
        assert event == expected


def test_show_neighbor_json() -> None:
    line = (
        '[{"state": "up", "duration": 4, "fsm": "ESTABLISHED", "families": ["ipv4 unicast"], '
        '"peer": {"address": "10.99.0.1", "as": 65001}}]'
    )
    event = parse_line(line)
    assert isinstance(event, Neighbors)
    assert neighbor_summary(event.peers[0]) == ("10.99.0.1", "up", ["ipv4 unicast"])
