"""The agent's pure decisions: the ExaBGP diff, and the announce set per lifecycle mode."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from bgp.agent import Mode, select_announce
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


ALLOWED = {V4: GSHUT, V4B: GSHUT}
MODE_CASES = [
    ("normal", Mode(), {V4: GSHUT, V4B: GSHUT}),
    ("stopping", Mode(stopping=True), {}),
    ("draining keeps what was announced", Mode(draining=True, drain_set=frozenset({V4})), {V4: GSHUT}),
    ("drain delay over", Mode(draining=True, drain_withdrawn=True, drain_set=frozenset({V4})), {}),
    ("stopping while draining", Mode(stopping=True, draining=True, drain_set=frozenset({V4})), {}),
]


@pytest.mark.parametrize(("mode", "expected"), [c[1:] for c in MODE_CASES], ids=[c[0] for c in MODE_CASES])
def test_select_announce(mode: Mode, expected: dict[object, RouteAttributes]) -> None:
    assert select_announce(ALLOWED, mode) == expected


def test_snapshot_round_trip() -> None:
    from bgp.agent import dump_snapshot, load_snapshot
    from bgp.sources.base import DesiredService

    snap = {
        "k8s/default/dns": DesiredService("k8s/default/dns", frozenset({V4, V6}), "dns", ("65101:1",), ("1:2:3",), "kubernetes"),
        "k8s/default/web": DesiredService("k8s/default/web", frozenset({V4B}), None, (), (), "kubernetes"),
    }
    assert load_snapshot(dump_snapshot(snap)) == snap


@pytest.mark.parametrize("text", ["{}", "[1]", '[{"key": "a", "prefixes": ["192.0.2.1/24"]}]', '[{"prefixes": []}]', "nope"])
def test_malformed_snapshot_is_refused(text: str) -> None:
    from bgp.agent import load_snapshot

    with pytest.raises((ValueError, KeyError)):
        load_snapshot(text)
