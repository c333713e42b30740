"""Every line the command builder can produce, fed to a real ExaBGP 5.0.15: none is refused.

ExaBGP answers ``error`` for a line it will not act on, and only its log says why (a
``next-hop self`` it cannot resolve for the session's family, a neighbour selector that
matches nothing, a family a neighbour does not carry). The unit tables compare text; this
test is what shows the text is something ExaBGP does. ExaBGP is started with the config the
agent renders (:func:`bgp.speaker.exabgp_conf.render`) for each session layout the config
allows, and its sessions come up with a second, passive ExaBGP on the loopback (on a free
port): route commands would be applied without a session, but ``announce eor`` is refused
("no neighbor matching") for a peer that is not established.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest

from bgp.config import AgentConfig
from bgp.speaker import commands, exabgp_conf
from bgp.speaker.commands import RouteAttributes
from bgp.speaker.diff import diff
from bgp.speaker.events import Event, PeerState
from bgp.speaker.process import NO_REASON, ExaBGP
from tests.bgp.unit import test_bgp_commands, test_bgp_diff

pytestmark = pytest.mark.slow

V4 = [ip_network("192.0.2.1/32"), ip_network("192.0.2.2/32")]
V6 = [ip_network("2001:db8::53/128"), ip_network("2001:db8::54/128")]


@dataclass(frozen=True)
class Layout:
    """A session layout the agent's config accepts: peers (address, families) and next hops."""

    name: str
    peers: tuple[tuple[str, tuple[str, ...]], ...]
    next_hop: dict[str, str]


# The agent's ExaBGP peers with the passive one: over IPv4 127.0.0.1 -> 127.0.0.2, over
# IPv6 ::1 -> ::1 (the loopback has one IPv6 address; different router-ids keep it legal).
PEER4, LOCAL4, PEER6, LOCAL6 = "127.0.0.2", "127.0.0.1", "::1", "::1"
LAYOUTS = [
    Layout("one IPv4 session, both families", ((PEER4, ("ipv4", "ipv6")),), {"ipv6": "2001:db8::1"}),
    Layout("one IPv6 session, both families", ((PEER6, ("ipv4", "ipv6")),), {"ipv4": "192.0.2.254"}),
    Layout("one session per family", ((PEER4, ("ipv4",)), (PEER6, ("ipv6",))), {}),
    Layout(
        "two sessions, each both families",
        ((PEER4, ("ipv4", "ipv6")), (PEER6, ("ipv4", "ipv6"))),
        {"ipv4": "192.0.2.254", "ipv6": "2001:db8::1"},
    ),
]


def free_port() -> int:
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::", 0))
        return int(s.getsockname()[1])


def agent_config(layout: Layout, state_dir: Path, port: int) -> AgentConfig:
    peers = [
        {"address": a, "local_address": LOCAL4 if ":" not in a else LOCAL6, "asn": 65001, "families": list(f)}
        for a, f in layout.peers
    ]
    return AgentConfig.model_validate({
        "asn": 65101,
        "router_id": "10.9.9.9",
        "state_dir": str(state_dir),
        "metrics": None,
        "peers": peers,
        "next_hop": layout.next_hop,
        "guard": {"allowed_ranges": ["192.0.2.0/24", "2001:db8::/32"]},
        "exabgp": {"env": {"exabgp.tcp.port": str(port)}},
    })


PASSIVE_PEER = """\
neighbor {local} {{
  router-id 10.9.9.1; local-as 65001; peer-as 65101; local-address {peer}; passive true;
  family {{ ipv4 unicast; ipv6 unicast; }}
}}
"""


def start_passive_peer(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """The other end of the sessions: a second ExaBGP, passive, on ``port``."""
    conf = workdir / "peer.conf"
    conf.write_text(PASSIVE_PEER.format(local=LOCAL4, peer=PEER4) + PASSIVE_PEER.format(local=LOCAL6, peer=PEER6))
    env = dict(os.environ)
    env.update({
        "exabgp.daemon.daemonize": "false",
        "exabgp.daemon.drop": "false",
        "exabgp.daemon.pid": "",
        "exabgp.log.destination": "stderr",
        "exabgp.log.level": "WARNING",
        "exabgp.api.cli": "false",
        "exabgp.tcp.bind": f"{PEER4} {PEER6}",
        "exabgp.tcp.port": str(port),
    })
    return subprocess.Popen(
        [sys.executable, "-m", "exabgp", str(conf)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


class RealExaBGP:
    """A real ExaBGP with the agent's config for a layout; :meth:`feed` returns refused lines
    with the reason ExaBGP logged."""

    def __init__(self, layout: Layout, workdir: Path) -> None:
        port = free_port()
        self.config = config = agent_config(layout, workdir, port)
        self.loop = asyncio.new_event_loop()
        self.log: list[str] = []
        self.up: set[str] = set()
        self.peer = start_passive_peer(workdir, port)
        conf = workdir / "exabgp.conf"
        api = workdir / "api.sock"
        conf.write_text(exabgp_conf.render(config, exabgp_conf.relay_argv(api)))
        env = exabgp_conf.environment(config)
        self.speaker = ExaBGP(conf, api, env, self._event)
        handler = _ListHandler(self.log)
        logging.getLogger("bgp.speaker.process").addHandler(handler)
        self._handler = handler
        self.loop.run_until_complete(self._start())

    def _event(self, event: Event) -> None:
        if isinstance(event, PeerState):
            (self.up.add if event.state == "up" else self.up.discard)(event.peer)

    async def _start(self) -> None:
        await self.speaker.start()
        deadline = time.monotonic() + 30
        want = {str(p.address) for p in self.config.peers}
        while self.up != want:
            assert time.monotonic() < deadline, f"sessions up: {sorted(self.up)} of {sorted(want)}: {self.log[-5:]}"
            await asyncio.sleep(0.05)

    def feed(self, lines: Sequence[str]) -> list[tuple[str, str]]:
        """(line, the reason the speaker recorded) for every refused line, all sent at once."""
        outcomes = self.loop.run_until_complete(self.speaker.send_detailed(lines))
        return [(line, o.reason) for line, o in zip(lines, outcomes, strict=True) if not o.ok]

    def close(self) -> None:
        self.loop.run_until_complete(self.speaker.stop())
        self.loop.close()
        self.peer.terminate()
        self.peer.wait(10)
        logging.getLogger("bgp.speaker.process").removeHandler(self._handler)


class _ListHandler(logging.Handler):
    def __init__(self, out: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        self.out.append(record.getMessage())


@pytest.fixture(params=LAYOUTS, ids=[lay.name for lay in LAYOUTS])
def layout_exabgp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Layout, RealExaBGP]]:
    layout: Layout = request.param
    ex = RealExaBGP(layout, tmp_path)
    try:
        yield layout, ex
    finally:
        ex.close()


def selectors(config: AgentConfig) -> dict[int, list[Any] | None]:
    """Peers per IP version the way the agent addresses them: [] all, None none, else a list."""
    out: dict[int, list[Any] | None] = {}
    for version, fam in ((4, "ipv4"), (6, "ipv6")):
        carrying = [p.address for p in config.peers if fam in p.families]
        out[version] = None if not carrying else [] if len(carrying) == len(config.peers) else carrying
    return out


def builder_lines(config: AgentConfig) -> list[str]:
    """Every shape of line the builder produces for this config: announce with each attribute
    (next hop as configured for the family, MED, communities, large communities, the
    GRACEFUL_SHUTDOWN of a drain), re-announce with other attributes, withdraw, both
    families, to all peers and to each peer alone, batched and not, and end-of-RIB."""
    sel = selectors(config)
    lines: list[str] = []
    extras: list[dict[str, Any]] = [
        {},
        {"med": 10},
        {"communities": ["65101:53", "65535:0"]},
        {"large_communities": ["65101:1:2"]},
        {"communities": ["65535:0"], "large_communities": ["65101:1:2"], "med": 0},
    ]
    for version, prefixes in ((4, V4), (6, V6)):
        peers = sel[version]
        if peers is None:
            continue
        nh_conf = config.next_hop.ipv4 if version == 4 else config.next_hop.ipv6
        next_hop = None if nh_conf == "self" else nh_conf
        targets: list[Sequence[Any]] = [peers, *([p] for p in (peers or [p.address for p in config.peers]))]
        for extra, target, batch in itertools.product(extras, targets, (1, 500)):
            attrs = RouteAttributes.make(next_hop=next_hop, **extra)
            lines += commands.announce(prefixes, attrs, target, batch)
            lines += commands.withdraw(prefixes, target, batch)
    # the lifecycle as the agent's diff produces it: announce, drain, undrain, withdraw
    plain = {p: RouteAttributes.make(next_hop=_nh(config, p.version)) for p in V4 + V6}
    gshut = {p: RouteAttributes.make(next_hop=_nh(config, p.version), communities=["65535:0"]) for p in V4 + V6}
    for current, target in ((dict[Any, Any](), plain), (plain, gshut), (gshut, plain), (plain, {}), ({}, gshut), (gshut, {})):
        lines += [step.line for step in diff(current, target, sel, 500).steps]
    for peer in config.peers:
        lines += [commands.end_of_rib(fam, [peer.address]) for fam in peer.families]
    lines += [commands.SHOW_NEIGHBORS, commands.DISABLE_ACK_NOTHING]
    return lines


def reason_of_line(ex: RealExaBGP, line: str) -> str:
    [(_, reason)] = ex.feed([line])
    return reason


def _nh(config: AgentConfig, version: int) -> Any:
    value = config.next_hop.ipv4 if version == 4 else config.next_hop.ipv6
    return None if value == "self" else value


def test_no_builder_line_is_refused(layout_exabgp: tuple[Layout, RealExaBGP]) -> None:
    _layout, ex = layout_exabgp
    lines = builder_lines(ex.config)
    assert len(lines) > 40
    assert ex.feed(lines) == []


def test_the_unit_tables_contain_no_refused_line(tmp_path: Path) -> None:
    """The expected lines of the unit tables, their peer addresses mapped onto this lab's."""
    ex = RealExaBGP(LAYOUTS[3], tmp_path)
    try:
        lines = [line for case in test_bgp_commands.ANNOUNCE_CASES for line in case[-1]]
        lines += [line for case in test_bgp_commands.WITHDRAW_CASES for line in case[-1]]
        lines += [step.line for case in test_bgp_diff.DIFF_CASES for step in case[5]]
        lines += [c[-1] for c in test_bgp_commands.EOR_CASES]
        lines = [
            line.replace("neighbor 10.0.0.1", f"neighbor {PEER4}").replace("neighbor fd00::1", f"neighbor {PEER6}")
            for line in lines
        ]
        assert len(lines) > 10
        assert ex.feed(lines) == []
    finally:
        ex.close()


def test_the_harness_sees_a_refusal_and_its_reason(tmp_path: Path) -> None:
    """The line the builder wrote before the fix: ``next-hop self`` on a withdrawal of an
    IPv6 prefix over an IPv4 session. ExaBGP refuses it, says why only in its log, and the
    speaker matches that reason to the line; a refusal ExaBGP gives no reason for (a
    neighbour that does not exist) gets NO_REASON."""
    ex = RealExaBGP(LAYOUTS[0], tmp_path)
    try:
        line = "withdraw attributes next-hop self nlri 2001:db8::53/128"
        [(refused, reason)] = ex.feed([commands.announce([V6[0]], RouteAttributes.make(ip_address("2001:db8::1")))[0], line])
        assert refused == line
        assert "does not have the same family as the BGP tcp session" in reason
        [(_, reason)] = ex.feed(["neighbor 10.99.99.99 announce eor ipv4 unicast"])
        assert reason == NO_REASON
        both = ex.feed([line, line, "announce eor ipv4 unicast"])
        assert [r for _, r in both] == [reason_of_line(ex, line)] * 2
    finally:
        ex.close()
