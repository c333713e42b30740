"""``fabric validate`` checks the Ethernet segments of dual-homed servers (issue 9): each
leaf of the pair knows the ESI as local and sees the other leaf's VTEP on it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fabric.api import load
from fabric.deploy.driver import EthernetSegment
from fabric.deploy.drivers.frr import parse_segments
from fabric.design import DeviceIntent
from fabric.validate import LiveState, compare, expected_state
from fabric.validate.compare import Check

ROOT = Path(__file__).resolve().parents[2]

# `show evpn es detail json` of real FRR 8.4.4 (Debian 12) with `evpn mh es-id 1` and
# `evpn mh es-sys-mac 02:4c:53:00:00:01` on a port that is no bond: local, no peer yet
FRR_LOCAL_ONLY = [{"esi": "03:02:4c:53:00:00:01:00:00:01", "accessPort": "eth0", "flags": ["local"],
                   "vniCount": 0, "macCount": 0, "dfPreference": 32767, "nexthopGroup": 536870913}]


@cache
def intents() -> dict[str, DeviceIntent]:
    return load(ROOT / "inventories" / "shownet2024").design()


def _segments() -> list[tuple[str, str, str, str]]:
    return [(e.device, e.server, e.esi, e.peer) for e in expected_state(intents(), None, True).segments]


def test_every_leaf_of_a_dual_homed_server_expects_its_segment() -> None:
    got = _segments()
    its = intents()
    want = sorted((leaf, a.server, a.segment.esi, a.segment.peer) for leaf, i in its.items() for a in i.servers
                  if a.segment is not None)
    assert sorted(got) == want
    servers = {s for _, s, _, _ in got}
    assert {"noc-db1", "exh-hv1"} <= servers
    assert "noc-probe1" not in servers  # single-homed: no segment
    for e in expected_state(its, None, True).segments:
        assert e.peer_vtep == str(its[e.peer].device.vtep)


def _live(segments: dict[str, list[EthernetSegment]]) -> LiveState:
    live = LiveState()
    live.segments = segments
    return live


def _es_checks(live: LiveState, skip: str = "") -> list[Check]:
    expected = expected_state(intents(), None, True)
    return [c for c in compare(intents(), expected, live, tenant_vrfs=True, segment_skip_reason=skip) if c.area == "es"]


def _healthy() -> dict[str, list[EthernetSegment]]:
    out: dict[str, list[EthernetSegment]] = {}
    for e in expected_state(intents(), None, True).segments:
        out.setdefault(e.device, []).append(EthernetSegment(e.esi, True, (e.peer_vtep,)))
    return out


def test_segments_pass_when_both_leaves_see_each_other() -> None:
    checks = _es_checks(_live(_healthy()))
    assert checks and all(c.status == "pass" for c in checks), checks


def test_a_leaf_that_misses_its_peer_fails_with_what_it_sees() -> None:
    live = _healthy()
    leaf2 = live["leaf2"]
    live["leaf2"] = [EthernetSegment(s.esi, True, ()) for s in leaf2]
    checks = _es_checks(_live(live))
    failed = [c for c in checks if c.status == "fail"]
    assert {c.device for c in failed} == {"leaf2"}
    assert all(c.seen == "local, with no other VTEP" and c.peer == "leaf1" for c in failed)


def test_an_unknown_esi_or_a_remote_only_segment_fails() -> None:
    live = _healthy()
    del live["leaf3"]
    live["leaf4"] = [EthernetSegment(s.esi, False, s.vteps) for s in live["leaf4"]]
    checks = {(c.device, c.status, c.seen.split(",")[0]) for c in _es_checks(_live(live))}
    assert ("leaf3", "fail", "ESI unknown") in checks
    assert ("leaf4", "fail", "not local") in checks


def test_segments_are_skipped_with_the_reason() -> None:
    live = _live({})
    live.segments_unsupported = {"leaf1": "leaf1: Ethernet segments: no getter on junos yet"}
    checks = _es_checks(live)
    leaf1 = [c for c in checks if c.device == "leaf1"]
    assert leaf1 and all(c.status == "skipped" and "no getter on junos" in c.seen for c in leaf1)
    assert all(c.status == "fail" for c in checks if c.device != "leaf1")
    assert all(c.status == "skipped" and c.seen == "no bond" for c in _es_checks(_live({}), skip="no bond"))


def test_frr_parser_reads_real_frr_output() -> None:
    (es,) = parse_segments(FRR_LOCAL_ONLY)
    assert es == EthernetSegment("03:02:4c:53:00:00:01:00:00:01", True, (), "eth0")
    with_peer = [{**FRR_LOCAL_ONLY[0], "vteps": [{"vtep": "10.0.1.2", "dfAlgorithm": "preference",
                                                  "dfPreference": 32767}]}]
    assert parse_segments(with_peer)[0].vteps == ("10.0.1.2",)
    assert parse_segments({}) == [] and parse_segments([{"x": 1}]) == []
