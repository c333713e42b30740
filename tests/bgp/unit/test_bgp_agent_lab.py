"""A quick real run: bgp-agent starts real ExaBGP, peers with a real FRR leaf in a
namespace, announces, reports status and metrics, and withdraws on SIGTERM.
(The multi-node ECMP suite is tests/bgp/e2e.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fabric.lab import Host, Lab, Router, cleanup_stale, wait_until

BGP_AGENT = str(Path(sys.executable).with_name("bgp-agent"))

LEAF = """\
frr defaults datacenter
hostname leaf
router bgp 65001
 bgp router-id 10.9.0.0
 no bgp ebgp-requires-policy
 neighbor 10.9.0.1 remote-as 65101
 neighbor fd00:9::1 remote-as 65101
 address-family ipv6 unicast
  neighbor fd00:9::1 activate
 exit-address-family
"""


@pytest.fixture
def topo(tmp_path: Path) -> Iterator[tuple[Router, Host, Path]]:
    cleanup_stale()
    with Lab("agent") as lab:
        leaf, node = lab.add_router("leaf"), lab.add_host("node")
        lab.link(leaf, node, a_addrs=["10.9.0.0/31", "fd00:9::/127"], b_addrs=["10.9.0.1/31", "fd00:9::1/127"])
        leaf.start(LEAF)
        yield leaf, node, tmp_path


def status(tmp: Path) -> dict[str, Any]:
    r = subprocess.run([BGP_AGENT, "status", "--json", "--state-dir", str(tmp / "state")], capture_output=True, text=True)
    return dict(json.loads(r.stdout)) if r.returncode == 0 else {}


def agent_config(tmp: Path) -> Path:
    cfg = {
        "asn": 65101,
        "router_id": "10.9.0.1",
        "state_dir": str(tmp / "state"),
        "metrics": "127.0.0.1:9179",
        "peers": [
            {"address": "10.9.0.0", "asn": 65001, "name": "leaf-v4", "hold_time": 3},
            {"address": "fd00:9::", "asn": 65001, "name": "leaf-v6", "hold_time": 3},
        ],
        "guard": {"allowed_ranges": ["192.0.2.0/24", "2001:db8:53::/48"]},
        "attributes": {"communities": ["65101:53"]},
        "checks": {"up": {"kind": "exec", "command": ["true"], "interval": 0.2, "timeout": 0.2, "rise": 1, "fall": 1}},
        "services": [
            {"name": "dns", "prefixes": ["192.0.2.53/32", "2001:db8:53::53/128"], "check": "up"},
        ],
        # a prefix the guard rails refuse must come from a source at run time: in the
        # config file itself it is a config error (check-config and run refuse the file)
        "sources": {"directory": {"path": str(tmp / "services"), "poll_interval": 0.2}},
    }
    (tmp / "services").mkdir(exist_ok=True)
    (tmp / "services" / "wide.yaml").write_text(yaml.safe_dump([{"name": "wide", "prefixes": ["192.0.2.0/24"]}]))
    path = tmp / "agent.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.lab
def test_agent_announces_to_frr_and_withdraws_on_sigterm(topo: tuple[Router, Host, Path]) -> None:
    leaf, node, tmp = topo
    config = agent_config(tmp)
    log = (tmp / "agent.log").open("wb")
    proc = node.popen([BGP_AGENT, "run", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        leaf.wait_route("192.0.2.53/32", lambda r: r is not None, timeout=30)
        leaf.wait_route("2001:db8:53::53/128", lambda r: r is not None, timeout=30)
        # the /24 is refused by the agent's guard rails, never sent
        assert leaf.route("192.0.2.0/24") is None
        paths = leaf.vtysh_json("show bgp ipv4 unicast 192.0.2.53/32 json")["paths"]
        assert paths[0]["community"]["string"] == "65101:53"

        st = wait_until(lambda: (s := status(tmp)).get("eor_sent") and s, 10, "end-of-RIB sent")
        states = {p["prefix"]: p["state"] for p in st["prefixes"]}
        assert states == {"192.0.2.53/32": "announced", "2001:db8:53::53/128": "announced", "192.0.2.0/24": "refused"}
        assert {p["name"]: p["state"] for p in st["peers"]} == {"leaf-v4": "up", "leaf-v6": "up"}
        assert st["exabgp_version"] == "5.0.15"

        scrape = node.exec(
            sys.executable, "-c", "import urllib.request as u;print(u.urlopen('http://127.0.0.1:9179').read().decode())"
        )
        assert "bgp_agent_announced_prefixes 2.0" in scrape.stdout
        assert 'bgp_agent_peer_up{peer="leaf-v4"} 1.0' in scrape.stdout

        # ExaBGP dies under the agent: the leaf keeps the routes (graceful restart), the
        # agent starts ExaBGP again, re-announces, and sends end-of-RIB.
        os.kill(st["exabgp_pid"], signal.SIGKILL)
        restarted = wait_until(
            lambda: (s := status(tmp)).get("exabgp_pid") not in (None, st["exabgp_pid"]) and s.get("eor_sent") and s,
            15,
            "ExaBGP started again",
        )
        assert restarted["announced"] == 2
        assert leaf.route("192.0.2.53/32") is not None
        wait_until(
            lambda: not leaf.vtysh_json("show bgp ipv4 unicast 192.0.2.53/32 json")["paths"][0].get("stale"),
            10,
            "route no longer stale",
        )

        # A drain survives a crash of the agent: it comes back announcing nothing until undrain.
        cli = [BGP_AGENT, "--state-dir", str(tmp / "state")]
        subprocess.run([cli[0], "drain", "--delay", "0", *cli[1:]], check=True, capture_output=True)
        leaf.wait_route("192.0.2.53/32", lambda r: r is None, timeout=10)
        proc.kill()
        proc.wait()
        proc = node.popen([BGP_AGENT, "run", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: (s := status(tmp)).get("eor_sent") and s["draining"], 15, "agent back, still drained")
        assert leaf.route("192.0.2.53/32") is None
        subprocess.run([cli[0], "undrain", *cli[1:]], check=True, capture_output=True)
        leaf.wait_route("192.0.2.53/32", lambda r: r is not None, timeout=10)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        # withdrawn before exit: no stale graceful-restart copy stays on the leaf
        leaf.wait_route("192.0.2.53/32", lambda r: r is None, timeout=5)
        leaf.wait_route("2001:db8:53::53/128", lambda r: r is None, timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
