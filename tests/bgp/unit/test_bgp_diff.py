"""The ExaBGP diff: what to send to get from what ExaBGP acked to the announce set."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from bgp.speaker.commands import RouteAttributes
from bgp.speaker.diff import Step, diff

N = ip_network
PLAIN = RouteAttributes.make()
GSHUT = RouteAttributes.make(communities=["65535:0"])
V4, V4B, V6 = N("192.0.2.1/32"), N("192.0.2.2/32"), N("2001:db8::1/128")
ALL: dict[int, list[object] | None] = {4: [], 6: []}

DIFF_CASES = [
    ("nothing to do", {V4: PLAIN}, {V4: PLAIN}, ALL, 500, [], []),
    ("announce new", {}, {V4: PLAIN, V4B: PLAIN}, ALL, 500,
     [Step("announce attributes next-hop self nlri 192.0.2.1/32 192.0.2.2/32", (V4, V4B), PLAIN)], []),
    ("withdraw before announce, v4 and v6", {V4: PLAIN, V6: PLAIN}, {V4B: PLAIN}, ALL, 500,
     [Step("withdraw attributes nlri 192.0.2.1/32", (V4,), None),
      Step("withdraw attributes nlri 2001:db8::1/128", (V6,), None),
      Step("announce attributes next-hop self nlri 192.0.2.2/32", (V4B,), PLAIN)], []),
    ("attribute change is a re-announce", {V4: PLAIN}, {V4: GSHUT}, ALL, 500,
     [Step("announce attributes next-hop self community [ 65535:0 ] nlri 192.0.2.1/32", (V4,), GSHUT)], []),
    ("grouped by attributes, batched", {}, {V4: PLAIN, V4B: GSHUT, N("192.0.2.3/32"): GSHUT}, ALL, 1,
     [Step("announce attributes next-hop self nlri 192.0.2.1/32", (V4,), PLAIN),
      Step("announce attributes next-hop self community [ 65535:0 ] nlri 192.0.2.2/32", (V4B,), GSHUT),
      Step("announce attributes next-hop self community [ 65535:0 ] nlri 192.0.2.3/32", (N("192.0.2.3/32"),), GSHUT)],
     []),
    ("v6 only to the v6 peer", {}, {V6: PLAIN}, {4: [], 6: [ip_address("fd00::1")]}, 500,
     [Step("neighbor fd00::1 announce attributes next-hop self nlri 2001:db8::1/128", (V6,), PLAIN)], []),
    ("no peer carries v6: dropped, no command", {V6: PLAIN}, {V4: PLAIN}, {4: [], 6: None}, 500,
     [Step("announce attributes next-hop self nlri 192.0.2.1/32", (V4,), PLAIN)], [V6]),
]


@pytest.mark.parametrize(("current", "target", "peers", "batch", "steps", "dropped"), [c[1:] for c in DIFF_CASES],
                         ids=[c[0] for c in DIFF_CASES])
def test_diff(current, target, peers, batch, steps, dropped):  # type: ignore[no-untyped-def]
    d = diff(current, target, peers, batch)
    assert d.steps == steps
    assert d.dropped == dropped
