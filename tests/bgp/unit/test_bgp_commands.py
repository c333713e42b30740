"""The ExaBGP command builder, by tables: exact text for typed input, refusal of bad values."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from bgp.speaker import commands
from bgp.speaker.commands import CommandError, RouteAttributes

N = ip_network
A = ip_address

ANNOUNCE_CASES = [
    # (id, prefixes, attrs, peers, batch, expected lines)
    (
        "one host route, next-hop self",
        [N("192.0.2.1/32")],
        RouteAttributes.make(),
        [],
        500,
        ["announce attributes next-hop self nlri 192.0.2.1/32"],
    ),
    (
        "sorted and batched",
        [N("192.0.2.3/32"), N("192.0.2.1/32"), N("192.0.2.2/32")],
        RouteAttributes.make(),
        [],
        2,
        [
            "announce attributes next-hop self nlri 192.0.2.1/32 192.0.2.2/32",
            "announce attributes next-hop self nlri 192.0.2.3/32",
        ],
    ),
    (
        "all attributes in fixed order, communities sorted numerically and de-duplicated",
        [N("2001:db8::53/128")],
        RouteAttributes.make(A("2001:db8::1"), ["65535:0", "65101:100", "65101:20", "65101:20"], ["65101:1:2", "65101:1:10"], 10),
        [],
        500,
        [
            "announce attributes next-hop 2001:db8::1 med 10 community [ 65101:20 65101:100 65535:0 ]"
            " large-community [ 65101:1:2 65101:1:10 ] nlri 2001:db8::53/128"
        ],
    ),
    (
        "targeted at two peers",
        [N("192.0.2.1/32")],
        RouteAttributes.make(),
        [A("10.0.0.1"), A("fd00::1")],
        500,
        ["neighbor 10.0.0.1 , neighbor fd00::1 announce attributes next-hop self nlri 192.0.2.1/32"],
    ),
    ("nothing to announce", [], RouteAttributes.make(), [], 500, []),
]


@pytest.mark.parametrize(
    ("prefixes", "attrs", "peers", "batch", "expected"), [c[1:] for c in ANNOUNCE_CASES], ids=[c[0] for c in ANNOUNCE_CASES]
)
def test_announce(prefixes, attrs, peers, batch, expected):
    assert commands.announce(prefixes, attrs, peers, batch) == expected


WITHDRAW_CASES = [
    ("one", [N("192.0.2.1/32")], [], 500, ["withdraw attributes nlri 192.0.2.1/32"]),
    (
        "v4 before v6, batched",
        [N("2001:db8::1/128"), N("192.0.2.1/32"), N("192.0.2.0/32")],
        [A("10.0.0.1")],
        2,
        [
            "neighbor 10.0.0.1 withdraw attributes nlri 192.0.2.0/32 192.0.2.1/32",
            "neighbor 10.0.0.1 withdraw attributes nlri 2001:db8::1/128",
        ],
    ),
]


@pytest.mark.parametrize(
    ("prefixes", "peers", "batch", "expected"), [c[1:] for c in WITHDRAW_CASES], ids=[c[0] for c in WITHDRAW_CASES]
)
def test_withdraw(prefixes, peers, batch, expected):
    assert commands.withdraw(prefixes, peers, batch) == expected


EOR_CASES = [
    ("ipv4", [], "announce eor ipv4 unicast"),
    ("ipv6", [A("fd00::1")], "neighbor fd00::1 announce eor ipv6 unicast"),
]


@pytest.mark.parametrize(("family", "peers", "expected"), EOR_CASES)
def test_end_of_rib(family, peers, expected):
    assert commands.end_of_rib(family, peers) == expected


BAD_CASES = [
    ("community with newline", lambda: RouteAttributes.make(communities=["65000:1\nshutdown"])),
    ("community out of range", lambda: RouteAttributes.make(communities=["65536:1"])),
    ("community as a word", lambda: RouteAttributes.make(communities=["no-export"])),
    ("large community with a space", lambda: RouteAttributes.make(large_communities=["1:2:3 4"])),
    ("large community out of range", lambda: RouteAttributes.make(large_communities=["4294967296:1:1"])),
    ("med negative", lambda: RouteAttributes.make(med=-1)),
]


@pytest.mark.parametrize("make", [c[1] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_attributes_are_refused(make):
    with pytest.raises(CommandError):
        commands.announce([N("192.0.2.1/32")], make())


@pytest.mark.parametrize(
    "prefix", ["192.0.2.1/32\nshutdown", "192.0.2.1/32"], ids=["string with newline", "string instead of network"]
)
def test_prefix_must_be_a_network_object(prefix):
    with pytest.raises(CommandError):
        commands.announce([prefix], RouteAttributes.make())  # type: ignore[list-item]


def test_unknown_family_is_refused():
    with pytest.raises(CommandError):
        commands.end_of_rib("l2vpn")


@pytest.mark.parametrize("line", ["shutdown\nannounce route 0.0.0.0/0", "a\rb", "x\x00", "x\x7f"])
def test_check_line_refuses_control_characters(line):
    with pytest.raises(CommandError):
        commands.check_line(line)


def test_check_line_accepts_a_command():
    assert commands.check_line("announce eor ipv4 unicast") == "announce eor ipv4 unicast"
