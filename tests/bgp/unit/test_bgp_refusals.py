"""What the agent does with a command ExaBGP refuses: the pure bookkeeping by tables, then the
agent in-process with a real ExaBGP that refuses a withdrawal (the builder is made to write
the line it wrote before the ``next-hop self`` fix, the one refusal this ExaBGP is known for)."""

from __future__ import annotations

import asyncio
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest

from bgp import refusals as refusals_mod
from bgp.agent import Agent
from bgp.config import AgentConfig
from bgp.guard import Plan
from bgp.refusals import RETRY_DELAYS, Refusals
from bgp.speaker import commands
from bgp.speaker.commands import RouteAttributes
from bgp.status import prefix_rows

V4, V6 = ip_network("192.0.2.53/32"), ip_network("2001:db8:53::53/128")
A, B = RouteAttributes.make(), RouteAttributes.make(communities=["65535:0"])


def test_retries_then_fails_and_holds_the_change_meanwhile() -> None:
    r = Refusals()
    r.refused([V4], A, "why", now=0.0)
    assert r.get(V4) is not None and r.get(V4).attempts == 1 and not r.get(V4).failed  # type: ignore[union-attr]
    # not due: the announcement is held back (ExaBGP has nothing for V4)
    assert r.hold({}, {V4: A}, now=RETRY_DELAYS[0] - 0.1) == {}
    assert r.next_retry() == RETRY_DELAYS[0]
    # due: sent again
    assert r.hold({}, {V4: A}, now=RETRY_DELAYS[0]) == {V4: A}
    r.refused([V4], A, "why", now=RETRY_DELAYS[0])
    r.refused([V4], A, "still", now=10.0)
    failed = r.get(V4)
    assert failed is not None and failed.failed and failed.attempts == 3 and failed.reason == "still"
    assert r.failed() == [V4] and r.next_retry() is None
    assert r.hold({}, {V4: A}, now=1e9) == {}  # failed: never sent again ...
    assert r.hold({}, {V4: B}, now=1e9) == {V4: B}  # ... until something else is wanted
    assert r.get(V4) is None


def test_a_refused_withdrawal_keeps_what_exabgp_has() -> None:
    r = Refusals()
    r.refused([V6], None, "why", now=0.0)
    assert r.hold({V6: A}, {}, now=0.5) == {V6: A}  # not due: no withdrawal sent
    assert r.hold({V6: A}, {}, now=RETRY_DELAYS[0]) == {}  # due: withdraw again
    r.done([V6])
    assert len(r) == 0


def test_status_rows_show_the_refusal_with_its_reason() -> None:
    r = Refusals()
    r.refused([V6], None, "the route (ipv6) does not have the same family", now=0.0)
    rows = prefix_rows(Plan(), {V6: A}, False, r)
    assert rows == [{
        "prefix": "2001:db8:53::53/128",
        "service": "",
        "state": "retrying",
        "check": None,
        "reason": "ExaBGP refused to withdraw it (1 attempts): the route (ipv6) does not have the same family",
    }]


def old_withdraw(prefixes: Any, peers: Any = (), batch: int = 500) -> list[str]:
    """The builder's withdrawal before the fix: ``next-hop self``, refused by ExaBGP for an
    IPv6 prefix over an IPv4 session."""
    head = commands.target_prefix(peers) + "withdraw attributes next-hop self nlri "
    return [head + " ".join(commands.prefix_token(p) for p in chunk) for chunk in commands.chunks(prefixes, batch)]


@pytest.mark.slow
def test_agent_records_a_refused_withdrawal_retries_marks_it_failed_and_stop_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "withdraw", old_withdraw)
    monkeypatch.setattr(refusals_mod, "RETRY_DELAYS", (0.2, 0.2))
    flag = tmp_path / "healthy"
    flag.touch()
    cfg = AgentConfig.model_validate({
        "asn": 65101,
        "router_id": "127.0.0.1",
        "state_dir": str(tmp_path / "state"),
        "metrics": None,
        # one IPv4 session carrying both families; it never comes up (ExaBGP applies and
        # refuses commands all the same)
        "peers": [{"address": "127.0.0.2", "asn": 65001, "local_address": "127.0.0.1", "families": ["ipv4", "ipv6"]}],
        "next_hop": {"ipv6": "2001:db8::1"},
        "guard": {"allowed_ranges": ["192.0.2.0/24", "2001:db8:53::/48"]},
        "checks": {"flag": {"kind": "exec", "command": ["/usr/bin/test", "-e", str(flag)], "interval": 0.1, "timeout": 0.1,
                            "rise": 1, "fall": 1}},
        "services": [{"name": "dns", "prefixes": [str(V4), str(V6)], "check": "flag"}],
    })
    agent = Agent(cfg)

    def states() -> dict[str, tuple[str, str]]:
        return {p["prefix"]: (p["state"], p["reason"]) for p in agent.status()["prefixes"]}

    async def until(what: str, cond: Any, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not cond():
            assert asyncio.get_running_loop().time() < deadline, f"{what}: {states()}"
            await asyncio.sleep(0.05)

    async def main() -> int:
        run = asyncio.create_task(agent.run())
        await until("both announced", lambda: {s for s, _ in states().values()} == {"announced"})
        flag.unlink()  # the check fails: both must be withdrawn; ExaBGP refuses the IPv6 one
        await until("v4 withdrawn", lambda: states()[str(V4)][0] == "withdrawn-unhealthy")
        await until("v6 failed", lambda: states()[str(V6)][0] == "failed")
        _, reason = states()[str(V6)]
        assert "ExaBGP refused to withdraw it (3 attempts)" in reason
        assert "does not have the same family as the BGP tcp session" in reason
        status = agent.status()
        assert status["failed"] == 1 and status["announced"] == 1  # ExaBGP still has it
        metrics = agent.metrics.render().decode()
        assert "bgp_agent_failed_prefixes 1.0" in metrics
        assert 'bgp_agent_speaker_commands_total{result="error"} 3.0' in metrics
        agent.stop()
        return await asyncio.wait_for(run, 60)

    assert asyncio.run(main()) == 1  # the IPv6 withdrawal was never sent: not a clean stop
