"""The netns lab for real: namespaces, veth pairs, FRR per namespace, FIB reading, cleanup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fabric.lab import STATE_DIR, Lab, LabError, Router, cleanup_stale, vrf_supported, wait_until
from fabric.lab.system import IP, alive, list_netns, run

pytestmark = pytest.mark.lab


def bgp_conf(
    asn: int, rid: str, neighbors: dict[str, int], networks: tuple[str, ...] = (), v6_neighbors: dict[str, int] | None = None
) -> str:
    """A minimal eBGP config: v4 peers carry IPv4 unicast, v6 peers IPv6 unicast."""
    v6 = v6_neighbors or {}
    lines = [
        f"router bgp {asn}",
        f" bgp router-id {rid}",
        " no bgp ebgp-requires-policy",
        " bgp bestpath as-path multipath-relax",
    ]
    lines += [f" neighbor {addr} remote-as {remote}" for addr, remote in {**neighbors, **v6}.items()]
    lines += [" address-family ipv4 unicast", "  maximum-paths 16"]
    lines += [f"  no neighbor {a} activate" for a in v6]
    lines += [f"  network {n}" for n in networks if ":" not in n]
    lines.append(" exit-address-family")
    if v6:
        lines += [" address-family ipv6 unicast", "  maximum-paths 16"]
        lines += [f"  neighbor {a} activate" for a in v6]
        lines += [f"  network {n}" for n in networks if ":" in n]
        lines.append(" exit-address-family")
    return "\n".join(lines) + "\n"


def established(router: Router, peers: int) -> bool:
    states = [p.get("state") for p in router.bgp_neighbors().values()]
    return states.count("Established") >= peers


def test_two_routers_exchange_routes_over_ebgp(lab: Lab) -> None:
    r1, r2 = lab.add_router("r1"), lab.add_router("r2")
    link = lab.link(r1, r2, a_addrs=["10.0.0.0/31", "fd00::0/127"], b_addrs=["10.0.0.1/31", "fd00::1/127"])
    assert (link.a_if, link.b_if) == ("eth1", "eth1")
    assert "fd00::1/127" in r2.addresses("eth1")  # no DAD: usable at once, not tentative
    r1.add_loopback("192.0.2.1/32")
    r1.exec("ip", "route", "add", "blackhole", "198.51.100.0/24")
    r1.exec("ip", "-6", "route", "add", "blackhole", "2001:db8:100::/48")
    r1.start(
        "ip route 198.51.100.0/24 blackhole\nipv6 route 2001:db8:100::/48 blackhole\n"
        + bgp_conf(65001, "192.0.2.1", {"10.0.0.1": 65002}, ("198.51.100.0/24", "2001:db8:100::/48"), {"fd00::1": 65002})
    )
    r2.start(bgp_conf(65002, "192.0.2.2", {"10.0.0.0": 65001}, (), {"fd00::": 65001}))
    assert set(r1.pids()) == {"zebra", "bgpd", "staticd"}
    assert (r1.rundir / "bgpd.vty").exists() and r1.rundir.is_relative_to(lab.rundir)

    wait_until(lambda: established(r2, 2), 30, "both BGP sessions of r2")
    v4 = r2.wait_route("198.51.100.0/24", lambda r: r is not None, timeout=30)
    assert v4 is not None and v4.gateways == {"10.0.0.0"} and v4.protocol == "bgp"
    v6 = r2.wait_route("2001:db8:100::/48", lambda r: r is not None, timeout=30)
    # FRR installs a directly connected IPv6 peer's link-local next hop, not its global one
    r1_ll = {a.split("/")[0] for a in r1.addresses("eth1") if a.startswith("fe80:")}
    assert v6 is not None and v6.gateways == r1_ll and v6.nexthops[0].dev == "eth1"
    # each router has its own pathspace: r1 does not know r2's peers
    assert set(r1.bgp_neighbors()) == {"10.0.0.1", "fd00::1"}
    assert "65002" in r2.vtysh("show running-config")


def test_multipath_nexthops_in_kernel_fib(lab: Lab) -> None:
    r1, r2 = lab.add_router("r1"), lab.add_router("r2")
    lab.link(r1, r2, a_addrs=["10.0.0.0/31"], b_addrs=["10.0.0.1/31"])
    lab.link(r1, r2, a_addrs=["10.0.0.2/31"], b_addrs=["10.0.0.3/31"])
    r1.start(
        "ip route 198.51.100.0/24 blackhole\n"
        + bgp_conf(65001, "1.1.1.1", {"10.0.0.1": 65002, "10.0.0.3": 65002}, ("198.51.100.0/24",))
    )
    r2.start(bgp_conf(65002, "2.2.2.2", {"10.0.0.0": 65001, "10.0.0.2": 65001}))
    route = r2.wait_route("198.51.100.0/24", lambda r: r is not None and len(r.nexthops) == 2, timeout=30)
    assert route is not None
    assert route.gateways == {"10.0.0.0", "10.0.0.2"}
    assert {h.dev for h in route.nexthops} == {"eth1", "eth2"}
    # one session down -> one next hop left
    r1.vtysh("configure terminal", "router bgp 65001", "neighbor 10.0.0.3 shutdown")
    route = r2.wait_route("198.51.100.0/24", lambda r: r is not None and len(r.nexthops) == 1, timeout=30)
    assert route is not None and route.gateways == {"10.0.0.0"}


def test_hosts_bridge_and_vxlan(lab: Lab) -> None:
    h1, h2 = lab.add_host("h1"), lab.add_host("h2")
    lab.link(h1, h2, b_addrs=["10.9.0.2/24"])
    h1.add_bridge("br100", ["eth1"])
    h1.add_address("br100", "10.9.0.1/24")
    h1.add_loopback("10.255.0.1/32")
    h1.add_vxlan("vx100", 100, "10.255.0.1", bridge="br100")
    data = h1.ip("-d", "-j", "link", "show", "vx100").stdout
    assert '"id":100' in data and '"master":"br100"' in data
    assert h2.exec("ping", "-c", "1", "-W", "2", "10.9.0.1").returncode == 0  # through the bridge port eth1
    with pytest.raises(LabError, match="bad interface name"):
        h1.add_bridge("this-name-is-far-too-long")


def test_vrf_needs_kernel_support(lab: Lab) -> None:
    if not vrf_supported():
        pytest.skip("this kernel has no VRF support (CONFIG_NET_VRF): tenant VRFs cannot run in the lab")
    h = lab.add_host("h1")
    h.ip("link", "add", "red", "type", "vrf", "table", "10")
    assert "red" in h.ip("link", "show", "red").stdout


def test_close_leaves_nothing_behind() -> None:
    lab = Lab("closing")
    r = lab.add_router("r1")
    h = lab.add_host("h1")
    lab.link(r, h)
    r.start("ip route 198.51.100.0/24 blackhole\n")
    sleeper = h.popen(["sleep", "300"])
    daemon_pids = list(r.pids().values())
    namespaces = [r.netns, h.netns]
    assert all(n in list_netns() for n in namespaces) and lab.state_file.exists()
    lab.close()
    assert not any(n in list_netns() for n in namespaces)
    assert sleeper.poll() is not None
    assert not any(alive(int(p)) for p in daemon_pids)
    assert not lab.rundir.exists() and not lab.state_file.exists()
    lab.close()  # idempotent


def test_exception_inside_with_block_still_cleans_up() -> None:
    with pytest.raises(RuntimeError), Lab("boom") as lab:
        netns = lab.add_host("h1").netns
        raise RuntimeError("test failure")
    assert netns not in list_netns()


CRASHING_RUN = textwrap.dedent(
    """
    import os, sys, time
    from fabric.lab import Lab
    lab = Lab("crash")
    r = lab.add_router("r1")
    h = lab.add_host("h1")
    lab.link(r, h)
    r.start()
    h.popen(["sleep", "300"])
    print(lab.prefix, r.netns, h.netns, *r.pids().values(), flush=True)
    time.sleep(300)
    """
)


def test_cleanup_stale_removes_a_killed_run_only() -> None:
    with Lab("alive") as live:
        live_ns = live.add_host("h1").netns
        proc = subprocess.Popen([sys.executable, "-c", CRASHING_RUN], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            prefix, *rest = proc.stdout.readline().split()
            assert rest, "the crashing run did not start"
            r_ns, h_ns, *daemon_pids = rest
            assert r_ns in list_netns() and (STATE_DIR / f"{prefix}.json").exists()
            assert cleanup_stale() == [] or live_ns in list_netns()  # live runs are never touched
            assert r_ns in list_netns()
            os.kill(proc.pid, signal.SIGKILL)  # no atexit, no finally: a real crash
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        removed = cleanup_stale()
        assert removed == sorted([r_ns, h_ns])
        assert not {r_ns, h_ns} & set(list_netns())
        assert live_ns in list_netns()
        assert not any(alive(int(p)) for p in daemon_pids)
        assert not (STATE_DIR / f"{prefix}.json").exists() and not Path(STATE_DIR / prefix).exists()


def test_bad_config_is_refused_with_the_offending_line(lab: Lab) -> None:
    r1 = lab.add_router("r1", bfd=True)
    with pytest.raises(LabError, match="bogus-command"):
        r1.start("router bgp 65001\n bogus-command 1\n")
    assert r1.pids() == {}  # nothing was started with a broken config
    r1.start("bfd\n peer 10.0.0.1\n exit\n")
    assert set(r1.pids()) == {"zebra", "bgpd", "staticd", "bfdd"}
    assert "10.0.0.1" in r1.vtysh("show bfd peers")
    with pytest.raises(LabError, match="vtysh refused"):
        r1.configure("router bgp 65001\n no-such-thing\n")
    r1.configure("router bgp 65001\n bgp router-id 1.1.1.1\n")
    assert "bgp router-id 1.1.1.1" in r1.vtysh("show running-config")


def test_every_daemon_gets_its_lines_whatever_the_block_order(lab: Lab) -> None:
    # bgpd blocks closed by top-level `exit`s between staticd and zebra lines: the
    # integrated config must reach each daemon whatever the order.
    r1 = lab.add_router("r1")
    r1.start(
        "router bgp 65001\n neighbor 10.0.0.1 remote-as 65002\nexit\n"
        "ip route 10.9.9.0/24 blackhole\n"
        "interface lo\n ip address 10.255.0.9/32\nexit\n"
        "route-map X permit 10\n set local-preference 5\nexit\n"
        "router bgp 65001\n address-family ipv4 unicast\n  neighbor 10.0.0.1 route-map X in\n exit-address-family\nexit\n"
    )
    route = r1.wait_route("10.9.9.0/24", lambda r: r is not None, timeout=10)
    assert route is not None and route.type == "blackhole"  # staticd
    assert "10.255.0.9/32" in r1.addresses("lo")  # zebra
    running = r1.vtysh("show running-config")
    assert "neighbor 10.0.0.1 route-map X in" in running and "set local-preference 5" in running  # bgpd


def test_bgpd_evpn_vni_lines_do_not_reach_zebra(lab: Lab) -> None:
    # zebra's grammar has a top-level `vni N` (the default VRF's L3 VNI): if zebra read
    # the integrated file itself it would take bgpd's per-VNI block for that.
    r1 = lab.add_router("r1")
    r1.start(
        "router bgp 65001\n bgp router-id 10.0.0.1\n address-family l2vpn evpn\n  advertise-all-vni\n"
        "  vni 10000\n   route-target import 65000:10000\n   route-target export 65000:10000\n"
        "  exit-vni\n exit-address-family\nexit\n"
    )
    assert "does not exist" in r1.vtysh("show evpn vni 10000")  # no L3 VNI conjured up in zebra
    assert "route-target import 65000:10000" in r1.vtysh("show running-config")


def test_cleanup_stale_sees_through_pid_reuse() -> None:
    # A dead run whose pid now belongs to another live process (here pid 1): the start
    # time in its state file no longer matches, so the run counts as dead.
    prefix = "ls-1-999999"
    netns = f"{prefix}-h1"
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    state = STATE_DIR / f"{prefix}.json"
    state.write_text(json.dumps({"pid": 1, "starttime": -1, "prefix": prefix, "namespaces": [netns]}))
    run([IP, "netns", "add", netns])
    try:
        assert netns in cleanup_stale()
        assert netns not in list_netns() and not state.exists()
    finally:
        run([IP, "netns", "delete", netns], check=False)
        state.unlink(missing_ok=True)
