"""Gather live state: the drivers' getters on every router (:func:`collect` for a lab, with
pings from the host namespaces and ``bgp-agent status --json`` on every Kubernetes node;
:func:`collect_devices` for switches reached through their deploy drivers). All in
parallel, each bounded by a timeout; a device that cannot be read is recorded with why,
never raised."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from fabric.deploy.driver import Connection
from fabric.deploy.errors import GetterUnsupported
from fabric.deploy.registry import driver_for
from fabric.deploy.targets import Target
from fabric.errors import DeployError
from fabric.lab.fabriclab import FabricLab
from fabric.lab.system import IP
from fabric.validate.compare import LiveState
from fabric.validate.expect import ExpectedState

PARALLEL = 8


def read_device(live: LiveState, name: str, driver: str, connection: Connection, vrfs: tuple[str, ...],
                segments: bool = False) -> None:
    """One device's sessions, VNIs, routes (of ``vrfs``) and, with ``segments``, its EVPN
    Ethernet segments into ``live``, or why not."""
    drv = driver_for(driver, connection)
    try:
        drv.open()
        live.neighbors[name] = drv.get_bgp_neighbors()
        live.vnis[name] = drv.get_vnis()
        routes = []
        for vrf in vrfs:
            routes += drv.get_routes(vrf)
        live.routes[name] = routes
        if segments:
            try:
                live.segments[name] = drv.get_ethernet_segments()
            except GetterUnsupported as e:
                live.segments_unsupported[name] = str(e).removeprefix(f"{connection.host}: ")
    except DeployError as e:
        live.errors[name] = str(e).removeprefix(f"{connection.host}: ").removeprefix(f"{name}: ")
    finally:
        drv.close()


def collect_devices(targets: Mapping[str, Target], vrfs: Mapping[str, tuple[str, ...]],
                    parallel: int = PARALLEL, segments: frozenset[str] = frozenset()) -> LiveState:
    """Every target's state through its deploy driver (``napalm``, ``netconf``, ``frr``);
    the routes of the VRFs ``vrfs`` names for it (the default table if none); the Ethernet
    segments of the devices in ``segments``."""
    live = LiveState()
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        futures = [pool.submit(read_device, live, n, t.driver, t.connection, vrfs.get(n, ("default",)), n in segments)
                   for n, t in targets.items()]
        for f in futures:
            f.result()
    return live


def collect(lab: FabricLab, connections: Mapping[str, Connection], expected: ExpectedState,
            vrfs: tuple[str, ...] = ("default",), read_segments: bool = True) -> LiveState:
    live = LiveState()
    with_segments = {e.device for e in expected.segments} if read_segments else set()

    def device(name: str) -> None:
        read_device(live, name, "frr", connections[name], vrfs, name in with_segments)

    def ping(host: str, target: str) -> None:
        args = [IP, "netns", "exec", lab.netns(host), "ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-w", "3",
                target]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
            live.pings[(host, target)] = proc.returncode == 0
        except subprocess.TimeoutExpired:
            live.pings[(host, target)] = False

    def agent(node: str) -> None:
        from bgp.control import request  # the agent's control socket; fabric may use bgp, never the reverse

        try:
            live.agents[node] = request(lab.agent_state_dir(node), {"command": "status"}, timeout=10)
        except (OSError, ValueError) as e:
            live.agents[node] = {"error": f"no running agent: {e}"}

    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = [pool.submit(device, n) for n in connections]
        futures += [pool.submit(ping, p.host, p.target) for p in expected.pings]
        futures += [pool.submit(agent, a.node) for a in expected.agents]
        for f in futures:
            f.result()
    return live
