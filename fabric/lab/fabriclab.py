"""Named labs of a whole fabric (``fabric lab up|down|status``): they outlive the command.

A lab called NAME owns exactly these things, and ``down`` removes all of them, also after a
crash of ``up`` or of any daemon:

- network namespaces ``lsn.NAME.<node>`` (every veth lives inside them, none in the root
  namespace; deleting the namespaces deletes the links), with every process inside them:
  FRR daemons (``-d``), bgp-agent, ExaBGP, unbound, a deploy driver's revert timer;
- the directory ``/run/leafspine-lab/named/NAME/`` (state file, FRR pathspaces, agent
  state, unbound configs, logs).

The state file is written before each namespace is created, and ``down`` also finds
namespaces by their ``lsn.NAME.`` prefix, so nothing escapes it. Lab names are lower-case
letters, digits and ``-``, so the dot-separated prefix of one lab never matches another's;
the pid-scoped test labs (``ls-<pid>-<seq>-``) and a user's own namespaces never match.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fabric.files import atomic_write
from fabric.lab.lab import STATE_DIR, Router, missing_requirements
from fabric.lab.system import IP, LabError, alive, kill_all, list_netns, netns_pids, ns_run, proc_starttime, run
from fabric.lab.topology import LabTopology, TopoK8sNode, host_setup

NAMED_DIR = STATE_DIR / "named"
"""Where named labs keep their state and files."""

LAB_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
DAEMONS = ("zebra", "bgpd", "staticd", "bfdd")
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
PARALLEL = 8

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    return None


def check_name(name: str) -> str:
    if not LAB_NAME.match(name):
        raise LabError(f"bad lab name {name!r}: lower-case letters, digits and '-', at most 32 characters")
    return name


def netns_prefix(name: str) -> str:
    return f"lsn.{check_name(name)}."


def lab_requirements() -> str | None:
    """Why a fabric lab cannot run here (None if it can)."""
    reason = missing_requirements()
    if reason:
        return reason
    if not os.access("/usr/lib/frr/bfdd", os.X_OK):
        return "FRR's bfdd is missing (Debian package frr)"
    if not os.access(UNBOUND, os.X_OK):
        return "unbound is not installed (Debian package unbound)"
    return None


@dataclass(frozen=True)
class NodeStatus:
    """One namespace of a lab as ``status`` reports it."""

    name: str
    kind: str
    netns: str
    exists: bool
    daemons: dict[str, bool] = field(default_factory=dict)
    """Process name -> running."""
    sessions_up: int = 0
    sessions: int = 0


@dataclass(frozen=True)
class LabStatus:
    name: str
    fabric: str
    inventory: str
    exists: bool
    nodes: tuple[NodeStatus, ...]
    stray_namespaces: tuple[str, ...]
    """Namespaces with the lab's prefix that the state file does not list."""


class FabricLab:
    """The named lab ``name`` (it may or may not be running)."""

    def __init__(self, name: str, root: Path | None = None) -> None:
        self.name = check_name(name)
        self.root = root or NAMED_DIR
        self.dir = self.root / name
        self.prefix = netns_prefix(name)

    # -- paths and state -------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.dir / "lab.json"

    def netns(self, node: str) -> str:
        return self.prefix + node

    def node_dir(self, node: str) -> Path:
        return self.dir / node

    def state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self, state: Mapping[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.state_file, json.dumps(state, indent=1, sort_keys=True))

    def exists(self) -> bool:
        return self.state_file.exists() or bool(self._namespaces())

    def _namespaces(self) -> list[str]:
        return [n for n in list_netns() if n.startswith(self.prefix)]

    def router(self, name: str) -> Router:
        """The FRR router ``name`` of this lab (to run vtysh against it)."""
        st = self.state()
        kinds = st.get("kinds", {})
        if kinds.get(name) not in ("router", "external"):
            raise LabError(f"lab {self.name} has no router {name!r}")
        return Router(name, self.netns(name), None, rundir=self.node_dir(name), daemons=DAEMONS)

    def exec(self, node: str, *args: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command in ``node``'s namespace."""
        return ns_run(self.netns(node), args, timeout=timeout, check=check)

    # -- up --------------------------------------------------------------------------------
    def up(
        self,
        topo: LabTopology,
        agent_configs: Mapping[str, Mapping[str, Any]],
        *,
        inventory: str = "",
        progress: Progress = _quiet,
    ) -> None:
        """Build the lab: namespaces, cables, the Linux side of every router, FRR daemons
        (no configuration: ``fabric deploy --lab`` pushes it), hosts, and on every
        Kubernetes node unbound plus ``bgp-agent run`` with ``agent_configs[node]``
        (a bgp-agent config as data; its ``state_dir`` is set here). Raises LabError if
        the lab exists; on any failure everything built so far is removed."""
        reason = lab_requirements()
        if reason:
            raise LabError(reason)
        if self.exists():
            raise LabError(f"lab {self.name} exists: `fabric lab down` it first (or up --replace)")
        missing = [n.name for n in topo.k8s_nodes if n.name not in agent_configs]
        if missing:
            raise LabError(f"no bgp-agent config for node(s) {', '.join(missing)}")
        kinds = {r.name: "router" for r in topo.routers}
        kinds.update({n.name: "k8s-node" for n in topo.k8s_nodes})
        kinds.update({h.name: "host" for h in topo.hosts})
        kinds.update({x.name: "external" for x in topo.externals})
        kinds.update({s.name: "server" for s in topo.servers})
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)  # FRR (user frr) must reach its pathspace
        state: dict[str, Any] = {
            "name": self.name, "fabric": topo.fabric, "inventory": inventory, "created": time.time(),
            "kinds": kinds, "namespaces": [], "processes": {},
        }
        self._write_state(state)
        try:
            self._up(topo, agent_configs, state, progress)
        except BaseException:
            progress("failed: removing what was built")
            self.down()
            raise

    def _up(self, topo: LabTopology, agent_configs: Mapping[str, Mapping[str, Any]], state: dict[str, Any],
            progress: Progress) -> None:
        t0 = time.perf_counter()
        names = topo.node_names
        progress(f"{len(names)} namespaces ({len(topo.routers)} routers, {len(topo.k8s_nodes)} Kubernetes nodes, "
                 f"{len(topo.hosts)} hosts{f', {len(topo.servers)} servers' if topo.servers else ''})")
        # record first, create second: a crash in between leaves a name for down to find
        state["namespaces"] = [self.netns(n) for n in names]
        self._write_state(state)
        forwarding = {r.name for r in topo.routers} | {x.name for x in topo.externals}
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(lambda n: self._make_netns(n, n in forwarding), names))
        progress(f"{len(topo.links)} cables")
        for lk in topo.links:
            run([IP, "link", "add", "name", lk.a_if, "netns", self.netns(lk.a), "mtu", str(lk.mtu), "type", "veth",
                 "peer", "name", lk.b_if, "netns", self.netns(lk.b), "mtu", str(lk.mtu)])
        for x in topo.externals:
            for leaf, leaf_if, x_if, mtu in x.cables_with_mtu():
                run([IP, "link", "add", "name", leaf_if, "netns", self.netns(leaf), "mtu", str(mtu), "type", "veth",
                     "peer", "name", x_if, "netns", self.netns(x.name), "mtu", str(mtu)])
        batches: dict[str, list[str]] = {n: [] for n in names}
        for lk in topo.links:
            batches[lk.a].append(f"link set {lk.a_if} up")
            batches[lk.b].append(f"link set {lk.b_if} up")
        for r in topo.routers:
            batches[r.name] += r.setup
        for x in topo.externals:
            for leaf, leaf_if, x_if in x.cables():
                batches[leaf].append(f"link set {leaf_if} up")
                batches[x.name].append(f"link set {x_if} up")
        for h in topo.hosts:
            batches[h.name] += host_setup(h.address4, h.address6, h.gateway4, h.gateway6)
        for srv in topo.servers:
            batches[srv.name] = list(srv.setup())  # its NICs come up as the server's side decides
        for k in topo.k8s_nodes:
            batches[k.name] += host_setup(k.address4, k.address6, k.gateway4, k.gateway6)
            if k.dns_address is not None:
                batches[k.name].append(f"addr add {k.dns_address}/32 dev lo")
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(lambda n: self._batch(n, batches[n]), names))
        progress(f"FRR daemons on {len(topo.routers)} routers ({', '.join(DAEMONS)})")
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(lambda r: self._start_router(r.name), topo.routers))
        if topo.externals:
            progress(f"FRR on {len(topo.externals)} external routers (their config generated by the lab)")
            for x in topo.externals:
                self._start_router(x.name, x.frr_config())
        progress(f"unbound and bgp-agent on {len(topo.k8s_nodes)} Kubernetes nodes")
        for k in topo.k8s_nodes:
            state["processes"][k.name] = self._start_node(k, agent_configs[k.name])
            self._write_state(state)
        state["up_seconds"] = round(time.perf_counter() - t0, 2)
        self._write_state(state)

    def _make_netns(self, node: str, forwarding: bool) -> None:
        ns = self.netns(node)
        run([IP, "netns", "add", ns])
        sysctls = [
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
            f"net.ipv4.ip_forward={int(forwarding)}",
            f"net.ipv6.conf.all.forwarding={int(forwarding)}",
            "net.ipv4.fib_multipath_hash_policy=1",
            "net.ipv6.fib_multipath_hash_policy=1",
        ]
        ns_run(ns, ["sysctl", "-q", "-w", *sysctls])
        run([IP, "-n", ns, "link", "set", "lo", "up"])

    def _batch(self, node: str, commands: Sequence[str]) -> None:
        if commands:
            run([IP, "-n", self.netns(node), "-batch", "-"], input="\n".join(commands) + "\n")

    def _start_router(self, name: str, config: str | None = None) -> None:
        router = Router(name, self.netns(name), None, rundir=self.node_dir(name), daemons=DAEMONS)
        router.start(config)

    def _start_node(self, k: TopoK8sNode, agent_config: Mapping[str, Any]) -> dict[str, list[int]]:
        d = self.node_dir(k.name)
        d.mkdir(parents=True, exist_ok=True)
        procs: dict[str, list[int]] = {}
        if k.dns_address is not None:
            conf = d / "unbound.conf"
            conf.write_text(unbound_config(k, d))
            procs["unbound"] = self._spawn_recorded(k.name, [UNBOUND, "-d", "-c", str(conf)], d / "unbound.log")
        cfg = dict(agent_config)
        cfg["state_dir"] = str(d / "agent-state")
        cfg["metrics"] = None
        path = d / "agent.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        agent = shutil.which("bgp-agent") or str(Path(_python()).with_name("bgp-agent"))
        procs["bgp-agent"] = self._spawn_recorded(k.name, [agent, "run", "--config", str(path)], d / "agent.log")
        return procs

    def _spawn_recorded(self, node: str, args: list[str], log: Path) -> list[Any]:
        proc = self._spawn(node, args, log)
        return [proc.pid, proc_starttime(proc.pid) or 0, args, str(log)]

    def _spawn(self, node: str, args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
        """Start a process that outlives this command (own session, output to ``log``)."""
        with log.open("ab") as out:
            return subprocess.Popen(
                [IP, "netns", "exec", self.netns(node), *args],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    # -- node processes ----------------------------------------------------------------------
    def process_alive(self, node: str, process: str) -> bool:
        rec = self.state().get("processes", {}).get(node, {}).get(process)
        if not rec:
            return False
        pid, start = int(rec[0]), int(rec[1])
        return alive(pid) and proc_starttime(pid) == start

    def stop_process(self, node: str, process: str) -> None:
        """Stop one of a node's processes (``unbound``, ``bgp-agent``): for tests and demos."""
        rec = self.state().get("processes", {}).get(node, {}).get(process)
        if rec and self.process_alive(node, process):
            kill_all([int(rec[0])], grace=10)

    def start_process(self, node: str, process: str) -> None:
        """Start a node's process (``unbound``, ``bgp-agent``) again as ``up`` started it,
        unless it runs."""
        st = self.state()
        rec = st.get("processes", {}).get(node, {}).get(process)
        if not rec:
            raise LabError(f"lab {self.name}: node {node} has no process {process}")
        if self.process_alive(node, process):
            return
        st["processes"][node][process] = self._spawn_recorded(node, list(rec[2]), Path(rec[3]))
        self._write_state(st)

    def agent_state_dir(self, node: str) -> Path:
        return self.node_dir(node) / "agent-state"

    # -- down --------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Remove every namespace (with every process and link inside it) and every file of
        this lab; returns the namespaces removed. Fine to call on a half-built or crashed
        lab, and on one that does not exist."""
        recorded = set(self.state().get("namespaces", []))
        namespaces = sorted(set(self._namespaces()) | (recorded & set(list_netns())))
        pids = [p for ns in namespaces for p in netns_pids(ns)]
        kill_all(pids, grace=3)
        for ns in namespaces:
            for _ in range(3):
                left = netns_pids(ns)
                if not left:
                    break
                kill_all(left, grace=1)
            run([IP, "netns", "delete", ns], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.root.rmdir()  # only when no other lab is left
        return namespaces

    # -- status ------------------------------------------------------------------------------
    def status(self) -> LabStatus:
        st = self.state()
        present = set(self._namespaces())
        kinds: dict[str, str] = st.get("kinds", {})
        nodes: list[NodeStatus] = []
        for name, kind in kinds.items():
            ns = self.netns(name)
            if kind in ("router", "external"):
                router = self.router(name)
                daemons = {d: d in router.pids() for d in DAEMONS}
                up, total = _session_counts(router) if daemons.get("bgpd") else (0, 0)
                nodes.append(NodeStatus(name, kind, ns, ns in present, daemons, up, total))
            elif kind == "k8s-node":
                procs = st.get("processes", {}).get(name, {})
                daemons = {p: self.process_alive(name, p) for p in procs}
                nodes.append(NodeStatus(name, kind, ns, ns in present, daemons))
            else:
                nodes.append(NodeStatus(name, kind, ns, ns in present))
        stray = tuple(sorted(present - {self.netns(n) for n in kinds}))
        return LabStatus(self.name, str(st.get("fabric", "")), str(st.get("inventory", "")), self.exists(),
                         tuple(nodes), stray)


def _session_counts(router: Router) -> tuple[int, int]:
    try:
        data = router.vtysh_json("show bgp vrf all summary json")
    except (LabError, ValueError):
        return (0, 0)
    up = total = 0
    for vrf in data.values() if isinstance(data, dict) else ():
        if not isinstance(vrf, dict):
            continue
        for af in vrf.values():
            if isinstance(af, dict) and isinstance(af.get("peers"), dict):
                for peer in af["peers"].values():
                    total += 1
                    up += peer.get("state") == "Established"
    return up, total


def _python() -> str:
    import sys

    return sys.executable


def unbound_config(node: TopoK8sNode, workdir: Path) -> str:
    """unbound answering on the anycast DNS address only: the lab zone with this node's
    address (so a client sees which node answered), nothing recursive."""
    addr = node.address4.ip if node.address4 is not None else node.dns_address
    zone = node.dns_name.split(".", 1)[1]
    return "\n".join([
        "server:",
        f"  interface: {node.dns_address}",
        "  port: 53",
        "  do-daemonize: no",
        '  username: ""',
        '  chroot: ""',
        f'  directory: "{workdir}"',
        f'  pidfile: "{workdir / "unbound.pid"}"',
        '  logfile: ""',
        "  use-syslog: no",
        "  verbosity: 0",
        "  num-threads: 1",
        "  so-reuseport: no",
        "  access-control: 0.0.0.0/0 allow",
        "  access-control: ::/0 allow",
        "  do-ip6: yes",
        '  module-config: "iterator"',
        f'  local-zone: "{zone}" static',
        f'  local-data: "{node.dns_name} 5 IN A {addr}"',
        f'  local-data: \'{node.dns_name} 5 IN TXT "{node.name}"\'',
        "remote-control:",
        "  control-enable: no",
        "",
    ])


def list_labs(root: Path | None = None) -> list[str]:
    """Names of the named labs on this machine (from state directories and namespaces)."""
    names = {p.name for p in (root or NAMED_DIR).glob("*") if p.is_dir()}
    for ns in list_netns():
        if ns.startswith("lsn."):
            parts = ns.split(".")
            if len(parts) >= 3:
                names.add(parts[1])
    return sorted(names)
