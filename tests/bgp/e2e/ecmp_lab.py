"""The end-to-end topology of bgp-agent: one FRR leaf, N node namespaces running the real
``bgp-agent run`` (which runs the real ExaBGP), one veth (IPv4 /31 + IPv6 /127) per node.

Shared by tests/bgp/e2e and the benchmarks in tests/bench/test_bgp_*.py. The leaf's
import policy is either our hand-written one (:func:`handwritten_policy`, mirroring the
fabric's: only /32 and /128 inside the service ranges, GRACEFUL_SHUTDOWN -> lowest local-pref)
or the one ``fabric`` renders for an FRR leaf (:func:`fabric_policy`); the sessions, multipath
and graceful restart are configured here, because this lab has one leaf, not a fabric.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fabric.lab import Host, Lab, Route, Router, wait_until

LEAF_ASN = 65000
NODE_ASN = 65100
SERVICE_V4 = "192.0.2.53/32"
SERVICE_V6 = "2001:db8:53::53/128"
BULK_RANGE = "100.64.0.0/15"  # the bulk benchmarks announce up to 100,000 /32s from here
OUTSIDE_V4 = "198.51.100.7/32"  # allowed by a node's own guard in one test, never by the leaf
LEAF_RANGES_V4 = ("192.0.2.0/24", BULK_RANGE)
LEAF_RANGES_V6 = ("2001:db8:53::/48",)
GSHUT = "65535:0"

BGP_AGENT = str(Path(sys.executable).with_name("bgp-agent"))
REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class LeafPolicy:
    """The leaf's import policy for routes from the nodes: config ``text`` defining the
    route-maps ``route_map4``/``route_map6`` that accept ``ranges4``/``ranges6``."""

    text: str
    route_map4: str
    route_map6: str
    ranges4: tuple[str, ...]
    ranges6: tuple[str, ...]


def handwritten_policy() -> LeafPolicy:
    """Our own policy, mirroring the fabric's: host routes inside the service ranges only;
    GRACEFUL_SHUTDOWN (65535:0) gets local-preference 0 (RFC 8326)."""
    lines = [
        *(f"ip prefix-list SVC4 seq {10 * (i + 1)} permit {r} ge 32" for i, r in enumerate(LEAF_RANGES_V4)),
        *(f"ipv6 prefix-list SVC6 seq {10 * (i + 1)} permit {r} ge 128" for i, r in enumerate(LEAF_RANGES_V6)),
        f"bgp community-list standard GSHUT seq 5 permit {GSHUT}",
    ]
    for fam, plist in (("4", "ip address prefix-list SVC4"), ("6", "ipv6 address prefix-list SVC6")):
        lines += [
            # a draining node's routes stay, but lose to every other path
            f"route-map NODES{fam}-IN permit 10",
            f" match {plist}",
            " match community GSHUT",
            " set local-preference 0",
            f"route-map NODES{fam}-IN permit 20",
            f" match {plist}",
            f"route-map NODES{fam}-IN deny 100",
        ]
    return LeafPolicy("\n".join(lines) + "\n", "NODES4-IN", "NODES6-IN", LEAF_RANGES_V4, LEAF_RANGES_V6)


def fabric_policy(inventory: str | Path = REPO / "inventories" / "lab", device: str = "leaf1") -> LeafPolicy:
    """The Kubernetes-facing import policy exactly as ``fabric`` renders it for ``device``
    (FRR): the community list, prefix lists and route-maps, and the route-map names the
    rendered config binds to its Kubernetes peer groups. Everything else of the rendered
    leaf (underlay, EVPN, VRFs) is left out: this lab has one leaf and no VRF support."""
    import fabric

    text = fabric.load(inventory).render()[device].text
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("bgp community-list"))
    end = next(i for i, line in enumerate(lines) if line.startswith("router bgp"))
    policy = [line for line in lines[start:end] if line.strip() not in ("", "!")]
    inbound = [line.split() for line in lines if re.match(r"^\s+neighbor \S+ route-map \S+ in$", line)]
    maps = [words[3] for words in inbound]
    map4 = next(m for m in maps if _route_map_family(policy, m) == "ip")
    map6 = next(m for m in maps if _route_map_family(policy, m) == "ipv6")
    ranges4 = tuple(line.split()[6] for line in policy if line.startswith("ip prefix-list"))
    ranges6 = tuple(line.split()[6] for line in policy if line.startswith("ipv6 prefix-list"))
    return LeafPolicy("\n".join(policy) + "\n", map4, map6, ranges4, ranges6)


def _route_map_family(policy: list[str], name: str) -> str:
    for i, line in enumerate(policy):
        if line.startswith(f"route-map {name} ") and i + 1 < len(policy) and "prefix-list" in policy[i + 1]:
            return policy[i + 1].split()[1]
    return ""


def leaf_config(
    nodes: list[AgentNode], max_prefixes: int = 20000, policy: LeafPolicy | None = None, dual_family: bool = False
) -> str:
    """The leaf's frr.conf: eBGP to every node (v4 and v6 sessions), the service import
    ``policy`` (default: :func:`handwritten_policy`), multipath, graceful-restart.
    ``dual_family``: the IPv4 sessions carry IPv6 unicast too (one session per node can
    then carry both families; the IPv6 sessions stay configured for the other layouts)."""
    pol = policy or handwritten_policy()
    lines = ["hostname leaf", pol.text.rstrip("\n")]
    lines += [
        f"router bgp {LEAF_ASN}",
        " bgp router-id 10.255.0.1",
        " no bgp ebgp-requires-policy",
        " bgp graceful-restart",
        " bgp bestpath as-path multipath-relax",
        " neighbor NODES4 peer-group",
        " neighbor NODES4 remote-as external",
        " neighbor NODES4 timers connect 1",
        " neighbor NODES6 peer-group",
        " neighbor NODES6 remote-as external",
        " neighbor NODES6 timers connect 1",
    ]
    for n in nodes:
        lines.append(f" neighbor {n.v4} peer-group NODES4")
        lines.append(f" neighbor {n.v6} peer-group NODES6")
    for fam, group, other, rmap in (("ipv4", "NODES4", "NODES6", pol.route_map4), ("ipv6", "NODES6", "NODES4", pol.route_map6)):
        groups = [group, other] if dual_family and fam == "ipv6" else [group]
        lines += [f" address-family {fam} unicast", "  maximum-paths 64"]
        if len(groups) == 1:
            lines.append(f"  no neighbor {other} activate")
        for g in groups:
            lines += [
                f"  neighbor {g} activate",
                f"  neighbor {g} route-map {rmap} in",
                f"  neighbor {g} soft-reconfiguration inbound",  # so tests can see what was refused
                f"  neighbor {g} maximum-prefix {max_prefixes}",
            ]
        lines.append(" exit-address-family")
    return "\n".join(lines) + "\n"


@dataclass(eq=False)
class AgentNode:
    """One node namespace and its bgp-agent. ``flag`` is the file the node's exec health
    check tests: remove it and the check fails."""

    host: Host
    index: int
    v4: str
    v6: str
    leaf_v4: str
    leaf_v6: str
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    @property
    def config_path(self) -> Path:
        return self.workdir / "agent.yaml"

    @property
    def services_dir(self) -> Path:
        return self.workdir / "services.d"

    @property
    def flag(self) -> Path:
        return self.workdir / "healthy"

    @property
    def log_path(self) -> Path:
        return self.workdir / "agent.log"

    def base_config(
        self,
        services: list[dict[str, Any]] | None = None,
        *,
        ipv6: bool = True,
        dual_family: bool = False,
        allowed: tuple[str, ...] = (*LEAF_RANGES_V4, *LEAF_RANGES_V6),
        interval: float = 0.2,
        rise: int = 2,
        fall: int = 2,
        drain_delay: str = "120s",
        max_prefixes: int = 1000,
        directory: bool = False,
        batch: int = 500,
        hold_time: int = 9,
        restart_time: int | None = None,
    ) -> dict[str, Any]:
        """An agent.yaml as a dict: v4 (and v6) session to the leaf, an exec check on
        ``flag``, the given static services. ``dual_family``: one IPv4 session carrying
        both families (next_hop.ipv6 is the node's IPv6 address), no IPv6 session."""
        peers: list[dict[str, Any]] = [
            {"address": self.leaf_v4, "asn": LEAF_ASN, "name": "leaf-v4", "local_address": self.v4, "hold_time": hold_time}
        ]
        if dual_family:
            peers[0]["families"] = ["ipv4", "ipv6"]
        elif ipv6:
            peers.append(
                {"address": self.leaf_v6, "asn": LEAF_ASN, "name": "leaf-v6", "local_address": self.v6, "hold_time": hold_time}
            )
        cfg: dict[str, Any] = {
            "asn": NODE_ASN,
            "router_id": self.v4,
            "state_dir": str(self.state_dir),
            "metrics": None,
            "peers": peers,
            # restart_time: the agent's default unless given
            "graceful_restart": {"enabled": True, "eor_timeout": "10s"},
            "guard": {"allowed_ranges": list(allowed), "max_prefixes": max_prefixes},
            "drain": {"delay": drain_delay},
            "checks": {
                "flag": {
                    "kind": "exec",
                    "command": ["/usr/bin/test", "-e", str(self.flag)],
                    "interval": interval,
                    "timeout": interval,
                    "rise": rise,
                    "fall": fall,
                }
            },
            "services": services
            if services is not None
            else [{"name": "dns", "prefixes": [SERVICE_V4, SERVICE_V6], "check": "flag"}],
            "exabgp": {"batch": batch},
            "log": {"level": "info", "format": "text"},
        }
        if restart_time is not None:
            cfg["graceful_restart"]["restart_time"] = restart_time
        if dual_family:
            cfg["next_hop"] = {"ipv6": self.v6}
        if directory:
            cfg["sources"] = {"directory": {"path": str(self.services_dir), "poll_interval": 0.05}}
        return cfg

    def write_config(self, cfg: dict[str, Any]) -> None:
        self.config = cfg
        self.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))

    def start(self) -> subprocess.Popen[bytes]:
        """Start ``bgp-agent run`` in this node's namespace (the agent starts ExaBGP)."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"agent of {self.host.name} already runs")
        log = self.log_path.open("ab")
        self.proc = self.host.popen([BGP_AGENT, "run", "--config", str(self.config_path)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self.proc

    def send_signal(self, sig: int) -> None:
        assert self.proc is not None
        # `ip netns exec` execs the agent, so the Popen pid is the agent itself
        os.kill(self.proc.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal the agent and wait for it to exit; returns its exit code."""
        assert self.proc is not None
        self.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``bgp-agent ARGS --state-dir <this node's>`` (drain, undrain, status)."""
        return subprocess.run(
            [BGP_AGENT, *args, "--state-dir", str(self.state_dir)], capture_output=True, text=True, timeout=30, check=check
        )

    def status(self) -> dict[str, Any]:
        out = self.cli("status", "--json", check=False)
        if out.returncode != 0:
            return {}
        return dict(json.loads(out.stdout))

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def fall_silent(self, silent: bool = True) -> None:
        """Drop every packet from this node to the leaf (blackhole routes to the leaf's
        addresses), or stop doing so: the node, seen from the leaf, dies without its link
        going down (a hung or powered-off node behind a switch port that stays up). The
        leaf notices only when its hold timer expires."""
        verb = "replace" if silent else "del"
        self.host.ip("route", verb, "blackhole", f"{self.leaf_v4}/32", check=silent)
        self.host.ip("-6", "route", verb, "blackhole", f"{self.leaf_v6}/128", check=silent)

    def set_healthy(self, healthy: bool) -> None:
        if healthy:
            self.flag.touch()
        else:
            self.flag.unlink(missing_ok=True)


class EcmpLab:
    """The leaf and its nodes. Build with :meth:`build`; :meth:`close` removes everything."""

    def __init__(self, lab: Lab, workdir: Path) -> None:
        self.lab = lab
        self.workdir = workdir
        self.leaf: Router = lab.add_router("leaf")
        self.nodes: list[AgentNode] = []

    @classmethod
    def build(
        cls,
        workdir: Path,
        n_nodes: int = 3,
        max_prefixes: int = 20000,
        policy: LeafPolicy | None = None,
        dual_family: bool = False,
    ) -> EcmpLab:
        lab = Lab("e2e")
        try:
            self = cls(lab, workdir)
            for i in range(1, n_nodes + 1):
                host = lab.add_host(f"node{i}")
                leaf_v4, node_v4 = f"10.1.0.{2 * i}", f"10.1.0.{2 * i + 1}"
                leaf_v6, node_v6 = f"fd00:0:0:{i}::", f"fd00:0:0:{i}::1"
                lab.link(
                    self.leaf, host, a_addrs=[f"{leaf_v4}/31", f"{leaf_v6}/127"], b_addrs=[f"{node_v4}/31", f"{node_v6}/127"]
                )
                wd = workdir / host.name
                (wd / "services.d").mkdir(parents=True)
                node = AgentNode(host, i, node_v4, node_v6, leaf_v4, str(ipaddress.ip_address(leaf_v6)), wd)
                node.set_healthy(True)
                self.nodes.append(node)
            self.leaf.start(leaf_config(self.nodes, max_prefixes, policy, dual_family))
        except BaseException:
            lab.close()
            raise
        return self

    def add_client(self) -> Host:
        """A host behind the leaf (10.2.0.1/31, default route via the leaf) to use the
        anycast services from; every node gets a default route back via the leaf."""
        client = self.lab.add_host("client")
        self.lab.link(self.leaf, client, a_addrs=["10.2.0.0/31"], b_addrs=["10.2.0.1/31"])
        client.ip("route", "add", "default", "via", "10.2.0.0")
        for n in self.nodes:
            n.host.ip("route", "replace", "default", "via", n.leaf_v4)
        return client

    def close(self) -> None:
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                with contextlib.suppress(Exception):
                    n.stop(signal.SIGTERM, timeout=15)
        self.lab.close()

    # -- leaf observations
    def route(self, prefix: str) -> Route | None:
        return self.leaf.route(prefix)

    def gateways(self, prefix: str) -> frozenset[str]:
        r = self.leaf.route(prefix)
        return r.gateways if r else frozenset()

    def wait_gateways(self, prefix: str, expected: set[str], timeout: float = 30) -> None:
        """Wait until the leaf's kernel FIB has exactly ``expected`` next hops for ``prefix``
        (empty set: no route). The failure message carries the agents' last log lines."""
        try:
            self.leaf.wait_route(
                prefix,
                lambda r: (r.gateways if r else frozenset()) == expected,
                timeout=timeout,
                what=f"{prefix} via {sorted(expected)} in the leaf FIB",
            )
        except Exception as e:
            raise AssertionError(f"{e}\n{self.diagnostics()}") from None

    def established(self, node: AgentNode, v6: bool = False) -> bool:
        peers = self.leaf.bgp_neighbors()
        return peers.get(node.v6 if v6 else node.v4, {}).get("state") == "Established"

    def _up(self, node: AgentNode, v6: bool) -> bool:
        return self.established(node) and (not v6 or self.established(node, True))

    def wait_established(self, nodes: list[AgentNode] | None = None, v6: bool = True, timeout: float = 45) -> None:
        for n in nodes or self.nodes:
            try:
                wait_until(functools.partial(self._up, n, v6), timeout, f"session of {n.host.name}")
            except Exception as e:
                raise AssertionError(f"{e}\n{self.diagnostics()}") from None

    def bgp_paths(self, prefix: str) -> list[dict[str, Any]]:
        """The leaf's BGP paths for ``prefix`` (``show bgp ... json``)."""
        net = ipaddress.ip_network(prefix)
        afi = "ipv4" if net.version == 4 else "ipv6"
        data = self.leaf.vtysh_json(f"show bgp {afi} unicast {net} json")
        return list(data.get("paths", []))

    def received(self, node: AgentNode, v6: bool = False) -> set[str]:
        """Prefixes the leaf received from ``node`` before its import policy (soft-reconfiguration)."""
        afi = "ipv6" if v6 else "ipv4"
        peer = node.v6 if v6 else node.v4
        data = self.leaf.vtysh_json(f"show bgp {afi} unicast neighbors {peer} received-routes json")
        return set(data.get("receivedRoutes", {}))

    def diagnostics(self) -> str:
        parts = [f"--- leaf: show bgp summary ---\n{self.leaf.vtysh('show bgp summary')}"]
        for n in self.nodes:
            rc = n.proc.poll() if n.proc else "not started"
            parts.append(f"--- {n.host.name} agent (exit: {rc}) log tail ---\n{n.log_tail()}")
        return "\n".join(parts)


def time_until(fn: Any, timeout: float, interval: float = 0.005) -> float:
    """Seconds from now until ``fn()`` is truthy (polled every ``interval``); raises on timeout."""
    start = time.perf_counter()
    wait_until(fn, timeout, "condition", interval=interval)
    return time.perf_counter() - start
