"""What ``fabric lab up``, ``fabric deploy --lab`` and ``make demo`` do with a fabric and a
named lab: the glue between the design (intents, exports' view), the topology description,
the named lab and the ``frr`` deploy driver. No printing: progress goes to a callback.

A lab device is just a device whose connection is its lab router with the ``frr`` driver
(:func:`lab_connections`), and whose config is the FRR (twin) rendering of its intent
(:func:`fabric.lab.twins.lab_configs`); a rollout engine deploys to it like to any other
device. Beyond FRR, a lab leaf has a Linux side (bridges and VXLAN devices per VLAN): deploy
reconciles it from the topology description before pushing FRR's config.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

import yaml

from fabric.deploy.driver import Connection
from fabric.deploy.registry import driver_for
from fabric.errors import DeployError
from fabric.lab.fabriclab import FabricLab
from fabric.lab.lab import vrf_supported
from fabric.lab.system import IP, LabError, run
from fabric.lab.topology import LabTopology, TopoBridge, TopoK8sNode, bridge_changes, lab_topology
from fabric.lab.twins import lab_configs

if TYPE_CHECKING:
    from fabric.api import Fabric
    from fabric.export.view import FabricView

Progress = Callable[[str], None]
DRIVER = "frr"
PARALLEL = 4


def _quiet(_msg: str) -> None:
    return None


def fabric_view(fab: Fabric) -> FabricView:
    from fabric.export.view import build_view

    fab.require_up_to_date()
    return build_view(fab.designed())


def topology(fab: Fabric) -> LabTopology:
    from dataclasses import replace as with_fields

    from fabric.lab.external import lab_externals
    from fabric.lab.topology import twin_port

    topo = lab_topology(fabric_view(fab))
    intents = fab.design()
    platform = {n: i.platform for n, i in intents.items()}

    def port_name(leaf: str, port: str) -> str:
        return port if platform[leaf] == "frr" else twin_port(port)

    externals = lab_externals(intents, port_name)
    return with_fields(topo, externals=externals) if externals else topo


# -- agent configs ---------------------------------------------------------------------------


def base_agent_configs(fab: Fabric) -> dict[str, dict[str, Any]]:
    """The bgp-agent config of every Kubernetes node as data: the text ``fabric build``
    writes to ``agents/<cluster>/<node>.yaml`` for a new node (the fabric's part from the
    leaf's intent: its sessions, ASNs, guard rails; the default user section)."""
    from fabric.export.agents import default_user_section, node_agents, node_file

    out: dict[str, dict[str, Any]] = {}
    for agent in node_agents(fab.design(), fab.summary()):
        data = yaml.safe_load(node_file(agent, default_user_section(agent)))
        out[agent.node] = dict(data)
    return out


def with_dns_service(cfg: Mapping[str, Any], node: TopoK8sNode) -> dict[str, Any]:
    """``cfg`` plus the lab's service: the cluster's anycast DNS address, announced while a
    ``dns`` check against it answers (the ShowNet case)."""
    out = dict(cfg)
    if node.dns_address is None:
        return out
    checks = dict(out.get("checks") or {})
    checks["dns"] = {"kind": "dns", "server": str(node.dns_address), "qname": node.dns_name,
                     "interval": 0.5, "timeout": 0.5, "rise": 2, "fall": 2}
    services = [s for s in out.get("services") or [] if s.get("name") != "anycast-dns"]
    services.append({"name": "anycast-dns", "prefixes": [f"{node.dns_address}/32"], "check": "dns"})
    out["checks"] = checks
    out["services"] = services
    out.setdefault("log", {"level": "info", "format": "json"})
    return out


def lab_agent_configs(fab: Fabric, topo: LabTopology) -> dict[str, dict[str, Any]]:
    base = base_agent_configs(fab)
    return {n.name: with_dns_service(base[n.name], n) for n in topo.k8s_nodes if n.name in base}


# -- up ----------------------------------------------------------------------------------------


def up(fab: Fabric, name: str | None = None, *, replace: bool = False, progress: Progress = _quiet) -> FabricLab:
    """Bring the lab of ``fab`` up (see :meth:`FabricLab.up`); ``replace`` removes a running
    lab of the same name first."""
    lab = FabricLab(name or fab.name)
    topo = topology(fab)
    if replace and lab.exists():
        progress(f"removing the running lab {lab.name}")
        lab.down()
    if not vrf_supported():
        from fabric.lab.twins import NO_VRF_REASON

        progress(f"note: {NO_VRF_REASON}")
    lab.up(topo, lab_agent_configs(fab, topo), inventory=str(fab.path), progress=progress)
    st = lab.state()
    st["bridges"] = {r.name: [asdict(b) for b in r.bridges] for r in topo.routers}
    st["vteps"] = {r.name: str(r.vtep) for r in topo.routers if r.vtep is not None}
    st["cables"] = sorted([lk.a, lk.a_if, lk.b, lk.b_if] for lk in topo.links)
    lab._write_state(st)
    return lab


# -- deploy ------------------------------------------------------------------------------------


def lab_connections(lab: FabricLab) -> dict[str, Connection]:
    """A connection per router of ``lab``, for the ``frr`` driver."""
    out = {}
    for node, kind in lab.state().get("kinds", {}).items():
        if kind == "router":
            d = str(lab.node_dir(node))
            out[node] = Connection(host=node, platform="frr", timeout=60,
                                   options={"vty_socket": d, "confdir": d, "workdir": d, "netns": lab.netns(node)})
    return out


@dataclass
class DeviceResult:
    device: str
    changed: bool = False
    diff: str = ""
    linux: list[str] = field(default_factory=list)
    """``ip`` commands that reconciled the Linux side (bridges, VXLAN devices)."""
    error: str = ""
    seconds: float = 0.0


@dataclass
class DeployReport:
    lab: str
    devices: list[DeviceResult]

    @property
    def ok(self) -> bool:
        return all(not d.error for d in self.devices)

    @property
    def changed(self) -> list[str]:
        return [d.device for d in self.devices if d.changed]


def _bridges_of(data: Any) -> tuple[TopoBridge, ...]:
    return tuple(TopoBridge(int(b["vlan"]), int(b["vni"]), int(b["mtu"]), tuple(b["members"])) for b in data or [])


def deploy(fab: Fabric, name: str | None = None, *, dry_run: bool = False, progress: Progress = _quiet) -> DeployReport:
    """Push the fabric's lab configs to lab ``name`` through the ``frr`` driver: per device
    reconcile the Linux side, load the config as a replace candidate, diff, and commit only
    if it differs. Unchanged devices get no commit."""
    lab = FabricLab(name or fab.name)
    st = lab.state()
    if not st:
        raise LabError(f"lab {lab.name} is not running: `fabric lab up {fab.path} --name {lab.name}` first")
    topo = topology(fab)
    cables = sorted([lk.a, lk.a_if, lk.b, lk.b_if] for lk in topo.links)
    if cables != st.get("cables"):
        raise LabError(f"the fabric's cabling differs from lab {lab.name}'s: `fabric lab up --replace` to rebuild it")
    configs = lab_configs(fab.design(), vrf_supported())
    conns = lab_connections(lab)
    missing = sorted(set(configs) - set(conns))
    if missing:
        raise LabError(f"lab {lab.name} has no router for {', '.join(missing)}")
    recorded = st.get("bridges", {})
    gateway_mac = fabric_view(fab).gateway_mac

    def one(device: str) -> DeviceResult:
        t0 = time.perf_counter()
        res = DeviceResult(device)
        router = topo.router(device)
        try:
            before: list[str] = []
            after: list[str] = []
            if router.vtep is not None:
                before, after = bridge_changes(_bridges_of(recorded.get(device)), router.bridges,
                                               IPv4Address(router.vtep), gateway_mac)
            res.linux = before + after
            drv = driver_for(DRIVER, conns[device])
            drv.open()
            try:
                if before and not dry_run:
                    run([IP, "-n", lab.netns(device), "-batch", "-"], input="\n".join(before) + "\n")
                drv.load_replace_candidate(configs[device])
                res.diff = drv.compare_config()
                if res.diff and not dry_run:
                    drv.commit_config(message="fabric deploy --lab")
                else:
                    drv.discard_config()
                if after and not dry_run:
                    run([IP, "-n", lab.netns(device), "-batch", "-"], input="\n".join(after) + "\n")
                res.changed = bool(res.diff or res.linux)
            finally:
                drv.close()
        except (DeployError, LabError) as e:
            res.error = str(e)
        res.seconds = time.perf_counter() - t0
        progress(f"{device}: {'error' if res.error else 'changed' if res.changed else 'unchanged'} "
                 f"({res.seconds:.1f} s)")
        return res

    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(one, list(configs)))
    if not dry_run:
        st = lab.state()
        st["bridges"] = {r.name: [asdict(b) for b in r.bridges] for r in topo.routers}
        lab._write_state(st)
    return DeployReport(lab.name, results)
