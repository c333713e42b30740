"""Both families through every lifecycle step, over one dual-family session per node and
over one session per family: announce, health withdraw, drain (out of ECMP, then withdrawn
after the delay), undrain, SIGTERM. Real bgp-agent and ExaBGP in three node namespaces, one
real FRR leaf; every assertion is on the leaf (FIB, BGP table) or the agent's status.

Before withdrawals stopped carrying ``next-hop self``, ExaBGP refused every IPv6 withdrawal
over an IPv4 session: the dual-family layout then failed at the first health withdraw.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from fabric.lab import cleanup_stale, wait_until
from tests.bgp.e2e.ecmp_lab import SERVICE_V4, SERVICE_V6, AgentNode, EcmpLab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PREFIXES = {SERVICE_V4: 4, SERVICE_V6: 6}
DRAIN_DELAY = 2.0


def peer_id(node: AgentNode, family: int, dual: bool) -> str:
    """The leaf's name for the session that carries ``family`` from ``node``."""
    return node.v4 if dual or family == 4 else node.v6


def gateway(node: AgentNode, family: int) -> str:
    return node.v4 if family == 4 else node.v6


def wait_serving(ecmp: EcmpLab, nodes: list[AgentNode], timeout: float = 30) -> None:
    for prefix, family in PREFIXES.items():
        ecmp.wait_gateways(prefix, {gateway(n, family) for n in nodes}, timeout=timeout)


def path_peers(ecmp: EcmpLab, prefix: str) -> set[str]:
    return {p.get("peer", {}).get("peerId") for p in ecmp.bgp_paths(prefix)}


def states(node: AgentNode) -> dict[str, str]:
    return {p["prefix"]: p["state"] for p in node.status().get("prefixes", [])}


@pytest.mark.parametrize("dual", [pytest.param(True, id="one-dual-family-session"), pytest.param(False, id="session-per-family")])
def test_every_lifecycle_step_for_both_families(tmp_path: Path, dual: bool) -> None:
    cleanup_stale()
    ecmp = EcmpLab.build(tmp_path, dual_family=dual)
    try:
        for n in ecmp.nodes:
            n.write_config(n.base_config(dual_family=dual, drain_delay=f"{DRAIN_DELAY}s"))
            n.start()
        n1, n2, n3 = ecmp.nodes
        everyone = [n1, n2, n3]

        # announce
        wait_serving(ecmp, everyone)
        for prefix, family in PREFIXES.items():
            assert path_peers(ecmp, prefix) == {peer_id(n, family, dual) for n in everyone}
        if dual:  # one session per node carries both: the leaf's IPv6 neighbours stay down
            assert not any(ecmp.established(n, v6=True) for n in everyone)

        # health withdraw, then back
        n2.set_healthy(False)
        wait_serving(ecmp, [n1, n3])
        assert {p: states(n2)[p] for p in PREFIXES} == dict.fromkeys(PREFIXES, "withdrawn-unhealthy")
        for prefix, family in PREFIXES.items():
            assert peer_id(n2, family, dual) not in path_peers(ecmp, prefix)
        n2.set_healthy(True)
        wait_serving(ecmp, everyone)

        # drain: out of the ECMP group at once, withdrawn after drain.delay
        n1.cli("drain")
        wait_serving(ecmp, [n2, n3])
        for prefix, family in PREFIXES.items():
            wait_until(
                lambda prefix=prefix, family=family: peer_id(n1, family, dual) not in path_peers(ecmp, prefix),
                DRAIN_DELAY + 10,
                f"n1's drained {prefix} to be withdrawn after drain.delay",
            )
        wait_until(
            lambda: {p: states(n1).get(p) for p in PREFIXES} == dict.fromkeys(PREFIXES, "withdrawn-drained"),
            5,
            "n1's status to show both prefixes withdrawn-drained",
        )
        status = n1.status()
        assert status["draining"] and status["drain_withdrawn"] and status["announced"] == 0

        # undrain
        n1.cli("undrain")
        wait_serving(ecmp, everyone)

        # SIGTERM: both withdrawn before the sessions close (graceful restart would
        # otherwise keep the paths as stale for restart_time), and quickly
        t0 = time.monotonic()
        assert n1.stop(signal.SIGTERM) == 0
        took = time.monotonic() - t0
        assert took < 5, f"SIGTERM took {took:.1f} s (it waits up to 10 s for unsent withdrawals)"
        for prefix, family in PREFIXES.items():
            assert peer_id(n1, family, dual) not in path_peers(ecmp, prefix), prefix
        wait_serving(ecmp, [n2, n3], timeout=5)

        for n in everyone:
            log = n.log_path.read_text(errors="replace")
            assert "refused" not in log and "before every withdrawal was seen sent" not in log, n.log_tail()
    finally:
        ecmp.close()
