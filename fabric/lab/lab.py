"""Lab, Router, Host and Link: network namespaces wired with veth pairs, FRR per router.

Every object a run creates carries the run's prefix ``ls-<pid>-<seq>-`` in its name, and the
run records itself in a state file under ``/run/leafspine-lab`` *before* it creates anything.
So a crashed run (SIGKILL, OOM, a CI timeout) is found again by name and pid, and
:func:`cleanup_stale` removes it, while a parallel live run is left alone.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import ipaddress
import itertools
import json
import os
import re
import shutil
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fabric.files import atomic_write
from fabric.lab.fib import Route, parse_routes
from fabric.lab.system import (
    IP,
    LabError,
    alive,
    delete_netns,
    kill_all,
    list_netns,
    ns_run,
    proc_starttime,
    run,
    wait_until,
)

STATE_DIR = Path(os.environ.get("LEAFSPINE_LAB_STATE", "/run/leafspine-lab"))
"""Where runs record themselves (tmpfs: a reboot forgets everything with the namespaces)."""

FRR_DIR = Path("/usr/lib/frr")
VTYSH = shutil.which("vtysh") or "/usr/bin/vtysh"
FRR_USER = "frr"
NAME_RE = re.compile(r"^ls-(\d+)-(\d+)-")
_NODE_NAME = re.compile(r"^[a-z][a-z0-9]{0,14}$")
_IFNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,14}$")

_seq = itertools.count()
_seq_lock = threading.Lock()
_open_labs: weakref.WeakSet[Lab] = weakref.WeakSet()


def missing_requirements() -> str | None:
    """Why the lab cannot run here (None if it can): needs root, iproute2 and Debian's FRR."""
    if os.geteuid() != 0:
        return "the netns lab needs root (network namespaces, veth pairs)"
    if shutil.which(IP) is None and not os.path.exists(IP):
        return "iproute2 (`ip`) is not installed"
    for daemon in ("zebra", "bgpd", "staticd"):
        if not os.access(FRR_DIR / daemon, os.X_OK):
            return f"FRR is not installed ({FRR_DIR / daemon} missing; apt-get install frr)"
    if not os.access(VTYSH, os.X_OK):
        return "vtysh is not installed (Debian package frr)"
    return None


def vrf_supported() -> bool:
    """False on kernels without CONFIG_NET_VRF (this lab machine's): tenant VRFs cannot be
    modelled in the lab there; callers skip with that reason. Looks at sysfs and the
    module tree only, so it never creates a device."""
    if os.path.isdir("/sys/module/vrf"):  # loaded, or built in (it has a version)
        return True
    modules = Path("/lib/modules") / os.uname().release
    return modules.is_dir() and any(modules.rglob("vrf.ko*"))


def bond_supported() -> bool:
    """False on kernels without the bonding driver (CONFIG_BONDING; this lab machine's
    monolithic kernel has none): a server's LAG cannot be a Linux bond there. Looks at
    sysfs and the module tree only, so it never creates a device."""
    if os.path.isdir("/sys/module/bonding"):
        return True
    modules = Path("/lib/modules") / os.uname().release
    return modules.is_dir() and any(modules.rglob("bonding.ko*"))


def vlan_devices_supported() -> bool:
    """False on kernels without 802.1Q VLAN devices (CONFIG_VLAN_8021Q; this lab machine's
    has none): a trunk's tagged VLANs cannot cross a lab cable there. Looks at sysfs and the
    module tree only."""
    if os.path.isdir("/sys/module/8021q"):
        return True
    modules = Path("/lib/modules") / os.uname().release
    return modules.is_dir() and any(modules.rglob("8021q.ko*"))


NO_BOND_REASON = (
    "this kernel has no bonding driver (CONFIG_BONDING, no module tree): a server's LAG cannot be a Linux bond, "
    "so the lab cables a dual-homed server's NICs straight into its leaves' bridges and fails over by hand as an "
    "active-backup bond would; the Ethernet segment (type-1/type-4 routes, FRR's EVPN-MH) is rendered but not run"
)


# -- nodes ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """A network namespace of the lab. ``name`` is the lab-local name (``leaf1``),
    ``netns`` the real namespace name (``ls-<pid>-<seq>-leaf1``). Processes started with
    :meth:`popen` are owned by the lab and stopped by :meth:`Lab.close`."""

    name: str
    netns: str
    lab: Lab | None = field(repr=False)
    """The pid-scoped lab owning this node; None for a node of a named lab
    (:mod:`fabric.lab.fabriclab`), whose processes outlive the command."""

    # -- commands
    def exec(
        self, *args: str, check: bool = True, timeout: float = 30, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside this namespace and wait for it."""
        return ns_run(self.netns, args, check=check, timeout=timeout, input=input)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``ip -n <netns> ARGS``."""
        return run([IP, "-n", self.netns, *args], check=check)

    def popen(
        self,
        args: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = subprocess.STDOUT,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
    ) -> subprocess.Popen[bytes]:
        """Start a long-running process inside this namespace. It runs in its own process
        group; the lab stops it (SIGTERM, then SIGKILL) on close if it is still running."""
        proc = subprocess.Popen(
            [IP, "netns", "exec", self.netns, *args],
            env=env,
            cwd=cwd,
            stdout=stdout,
            stderr=stderr,
            stdin=stdin,
            start_new_session=True,
        )
        if self.lab is not None:
            self.lab._processes.append(proc)
        return proc

    # -- interfaces and addresses
    def set_up(self, ifname: str) -> None:
        self.ip("link", "set", ifname, "up")

    def add_address(self, ifname: str, cidr: str) -> None:
        """Add ``cidr`` (v4 or v6, ``10.0.0.1/31``) to ``ifname``. IPv6 addresses are usable
        at once: DAD is off in every lab namespace."""
        iface = ipaddress.ip_interface(cidr)  # validates before it reaches a command line
        self.ip("addr", "add", str(iface), "dev", ifname)

    def add_loopback(self, cidr: str) -> None:
        """Add an address to ``lo`` (router ids, anycast service addresses)."""
        self.add_address("lo", cidr)

    def add_bridge(self, name: str, ports: Iterable[str] = (), vlan_filtering: bool = False) -> None:
        """Create a Linux bridge ``name`` with ``ports`` enslaved, all up. ``vlan_filtering``
        needs kernel support that this lab machine lacks (one bridge per VLAN works)."""
        _check_ifname(name)
        args = ["link", "add", name, "type", "bridge"]
        # Only asked for when wanted: this lab kernel refuses even "vlan_filtering 0"
        # (no CONFIG_BRIDGE_VLAN_FILTERING), so VLAN-aware bridges fail here with its error.
        if vlan_filtering:
            args += ["vlan_filtering", "1"]
        self.ip(*args)
        for port in ports:
            self.ip("link", "set", port, "master", name)
            self.set_up(port)
        self.set_up(name)

    def add_vxlan(
        self, name: str, vni: int, local: str, *, dstport: int = 4789, bridge: str | None = None, learning: bool = False
    ) -> None:
        """Create VXLAN device ``name`` for ``vni`` sourced from ``local`` (EVPN style: no
        learning, no multicast group; remote VTEPs come from the control plane)."""
        _check_ifname(name)
        if not 1 <= vni < 2**24:
            raise LabError(f"VNI {vni} out of range")
        ipaddress.ip_address(local)
        args = ["link", "add", name, "type", "vxlan", "id", str(vni), "local", local, "dstport", str(dstport)]
        args.append("learning" if learning else "nolearning")
        self.ip(*args)
        if bridge:
            self.ip("link", "set", name, "master", bridge)
        self.set_up(name)

    def addresses(self, ifname: str) -> list[str]:
        """Addresses of ``ifname`` as ``addr/len`` (scope global and host)."""
        data = json.loads(self.ip("-j", "addr", "show", "dev", ifname).stdout or "[]")
        return [f"{a['local']}/{a['prefixlen']}" for link in data for a in link.get("addr_info", [])]

    # -- kernel FIB
    def routes(self, family: int = 4, table: str = "main") -> list[Route]:
        """The kernel routes of ``table`` for address ``family`` (4 or 6), multipath next
        hops included (read with ``ip -j route``)."""
        if family not in (4, 6):
            raise LabError(f"family must be 4 or 6, not {family}")
        text = self.ip("-j", f"-{family}", "route", "show", "table", table).stdout
        return parse_routes(text, family)

    def route(self, prefix: str) -> Route | None:
        """The kernel route for exactly ``prefix`` (``192.0.2.1/32``), or None."""
        net = ipaddress.ip_network(prefix, strict=False)
        want = str(net)
        for r in self.routes(net.version):
            if r.dst == want:
                return r
        return None

    def wait_route(
        self, prefix: str, predicate: Callable[[Route | None], bool], timeout: float = 30, what: str = ""
    ) -> Route | None:
        """Poll the FIB until ``predicate(route or None)`` holds; returns that route (None
        when the predicate accepted its absence). Raises LabError after ``timeout`` with
        the last route seen."""
        last: list[Route | None] = [None]

        def probe() -> tuple[Route | None] | None:
            r = self.route(prefix)
            last[0] = r
            return (r,) if predicate(r) else None

        try:
            return wait_until(probe, timeout, what or f"route {prefix} in {self.name}")[0]
        except LabError as e:
            raise LabError(f"{e}; last seen: {last[0]}") from None


@dataclass(eq=False)
class Host(Node):
    """A namespace without routing daemons (a server, a Kubernetes node)."""


@dataclass(eq=False)
class Router(Node):
    """A namespace running FRR daemons with their own pathspace: vty sockets, zserv socket,
    pid files, logs and the config file live in ``rundir``; nothing touches /etc/frr or
    /run/frr. ``daemons`` are started in this order by :meth:`start`."""

    rundir: Path = Path()
    daemons: tuple[str, ...] = ("zebra", "bgpd", "staticd")
    started: bool = False

    def _daemon_args(self, daemon: str) -> list[str]:
        d = self.rundir
        args = [
            str(FRR_DIR / daemon),
            "-d",
            "-F",
            "datacenter",
            "--vty_socket",
            str(d),
            "-i",
            str(d / f"{daemon}.pid"),
            "-f",
            str(d / "frr.conf"),
            "--log",
            f"file:{d / f'{daemon}.log'}",
            "-P",
            "0",  # no TCP vty: vtysh talks over the unix sockets in rundir
        ]
        if daemon == "bfdd":
            args += ["--bfdctl", str(d / "bfdd.sock")]
        args += ["-z", str(d / "zserv.api")]
        return args

    def start(self, config: str | None = None, timeout: float = 15) -> None:
        """Start the daemons (zebra first, each waited for), then load ``config`` (frr.conf
        text in the integrated syntax, checked by ``vtysh -C`` first) through vtysh.

        The config goes through vtysh, as FRR's own boot does (``vtysh -b``), never read by
        each daemon from the file: a daemon reading the whole integrated file takes other
        daemons' lines for its own where its grammar has them too - zebra reads bgpd's
        ``address-family l2vpn evpn / vni N`` as the default VRF's *L3* VNI, which breaks
        EVPN (type-3 routes then carry the router id instead of the VTEP)."""
        self.rundir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.rundir, FRR_USER, FRR_USER)
        (self.rundir / "vtysh.conf").write_text("")
        if config:
            (self.rundir / "frr.conf").write_text(config)
            check = run([VTYSH, "--config_dir", str(self.rundir), "-C"], check=False)
            if check.returncode != 0:
                raise LabError(f"FRR config of {self.name} is invalid: {(check.stdout + check.stderr).strip()}")
        # each daemon starts from an empty file of its own
        (self.rundir / "frr.conf").write_text("")
        for daemon in self.daemons:
            self.exec(*self._daemon_args(daemon), timeout=timeout)
            socks = [self.rundir / f"{daemon}.vty"]
            if daemon == "zebra":
                socks.append(self.rundir / "zserv.api")  # the others connect to it at start
            wait_until(functools.partial(_all_exist, socks), timeout, f"{daemon} of {self.name} to open its sockets")
        self.started = True
        if config:
            self.configure(config)
            (self.rundir / "frr.conf").write_text(config)

    def configure(self, config: str) -> None:
        """Apply more frr.conf text (integrated syntax) to the running daemons with
        ``vtysh -f``; raises LabError with vtysh's complaint if a line is refused."""
        path = self.rundir / "frr-extra.conf"
        path.write_text(config)
        args = [VTYSH, "--vty_socket", str(self.rundir), "-f", str(path)]
        out = run(args, check=False)
        if out.returncode != 0 or "% " in out.stdout:
            raise LabError(f"vtysh refused config of {self.name}: {(out.stdout + out.stderr).strip()}")

    def vtysh(self, *commands: str, timeout: float = 30) -> str:
        """Run vtysh commands against this router only and return their output."""
        args = [VTYSH, "--vty_socket", str(self.rundir)]
        for c in commands:
            args += ["-c", c]
        return run(args, timeout=timeout).stdout

    def vtysh_json(self, command: str) -> Any:
        """Run one ``show ... json`` command and decode its output."""
        out = self.vtysh(command)
        return json.loads(out) if out.strip() else {}

    def pids(self) -> dict[str, int]:
        """Pids of the running FRR daemons, by daemon name."""
        found: dict[str, int] = {}
        for daemon in self.daemons:
            pidfile = self.rundir / f"{daemon}.pid"
            with contextlib.suppress(FileNotFoundError, ValueError):
                pid = int(pidfile.read_text().strip())
                if alive(pid):
                    found[daemon] = pid
        return found

    def stop(self) -> None:
        """Stop the daemons (SIGTERM, then SIGKILL), daemons other than zebra first."""
        pids = self.pids()
        others = [p for d, p in pids.items() if d != "zebra"]
        kill_all(others)
        if "zebra" in pids:
            kill_all([pids["zebra"]])
        self.started = False

    def bgp_neighbors(self) -> dict[str, dict[str, Any]]:
        """``show bgp summary json`` peers of every address family, merged by peer."""
        data = self.vtysh_json("show bgp summary json")
        peers: dict[str, dict[str, Any]] = {}
        for af in data.values():
            if isinstance(af, dict):
                for peer, info in af.get("peers", {}).items():
                    peers.setdefault(peer, {}).update(info)
        return peers


@dataclass(frozen=True)
class Link:
    """A veth pair between two lab nodes: ``a``:``a_if`` <-> ``b``:``b_if``."""

    a: str
    a_if: str
    b: str
    b_if: str


def _all_exist(paths: Sequence[Path]) -> bool:
    return all(p.exists() for p in paths)


def _check_ifname(name: str) -> None:
    if not _IFNAME.match(name):
        raise LabError(f"bad interface name {name!r} (at most 15 characters, letters first)")


# -- the lab -------------------------------------------------------------------------------


@dataclass(eq=False)
class Lab:
    """One run's namespaces, links and processes, removed by :meth:`close` (also on
    ``with``-block exit and at interpreter exit). Names are unique per process and run:
    ``ls-<pid>-<seq>-<node>`` (``prefix`` is ``ls-<pid>-<seq>``). Construct it with a
    ``name`` (a label in the state file) and optionally another ``state_dir``; everything
    else is filled in. Not thread-safe."""

    name: str = "lab"
    state_dir: Path = field(default_factory=lambda: STATE_DIR)
    prefix: str = field(init=False)
    rundir: Path = field(init=False)
    nodes: dict[str, Node] = field(init=False, default_factory=dict)
    links: list[Link] = field(init=False, default_factory=list)
    _processes: list[subprocess.Popen[bytes]] = field(init=False, default_factory=list, repr=False)
    _closed: bool = field(init=False, default=False, repr=False)

    def __post_init__(self) -> None:
        reason = missing_requirements()
        if reason:
            raise LabError(reason)
        with _seq_lock:
            seq = next(_seq)
        self.prefix = f"ls-{os.getpid()}-{seq}"
        self.rundir = self.state_dir / self.prefix
        self.rundir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.rundir, 0o755)  # FRR daemons (user frr) must reach their router dirs
        self._save_state()
        _open_labs.add(self)

    # -- registry
    @property
    def state_file(self) -> Path:
        return self.state_dir / f"{self.prefix}.json"

    def _save_state(self) -> None:
        state = {
            "name": self.name,
            "pid": os.getpid(),
            "starttime": proc_starttime(os.getpid()),
            "prefix": self.prefix,
            "namespaces": sorted(n.netns for n in self.nodes.values()),
            "rundir": str(self.rundir),
        }
        # atomic: a crash mid-write never leaves a truncated registry
        atomic_write(self.state_file, json.dumps(state))

    # -- building
    def _new_netns(self, name: str, forwarding: bool) -> str:
        if not _NODE_NAME.match(name):
            raise LabError(f"bad node name {name!r}: lowercase letters and digits, at most 15")
        if name in self.nodes:
            raise LabError(f"node {name!r} already exists in lab {self.name}")
        netns = f"{self.prefix}-{name}"
        # record first, create second: a crash between the two leaves a name to clean, not a leak
        self.nodes[name] = Node(name, netns, self)
        self._save_state()
        run([IP, "netns", "add", netns])
        sysctls = [
            "net.ipv6.conf.all.accept_dad=0",  # DAD would hold new v6 addresses tentative ~1-2 s
            "net.ipv6.conf.default.accept_dad=0",
            f"net.ipv4.ip_forward={int(forwarding)}",
            f"net.ipv6.conf.all.forwarding={int(forwarding)}",
            "net.ipv4.fib_multipath_hash_policy=1",  # spread by L4 ports, like the leaves
            "net.ipv6.fib_multipath_hash_policy=1",
        ]
        ns_run(netns, ["sysctl", "-q", "-w", *sysctls])
        run([IP, "-n", netns, "link", "set", "lo", "up"])
        return netns

    def add_router(self, name: str, daemons: Sequence[str] = ("zebra", "bgpd", "staticd"), bfd: bool = False) -> Router:
        """A namespace that will run FRR (start it with :meth:`Router.start`)."""
        ds = tuple(daemons) + (("bfdd",) if bfd and "bfdd" not in daemons else ())
        if not ds or ds[0] != "zebra":
            raise LabError("zebra must be the first FRR daemon")
        for d in ds:
            if not os.access(FRR_DIR / d, os.X_OK):
                raise LabError(f"FRR daemon {d} is not installed in {FRR_DIR}")
        netns = self._new_netns(name, forwarding=True)
        router = Router(name, netns, self, rundir=self.rundir / name, daemons=ds)
        self.nodes[name] = router
        return router

    def add_host(self, name: str, forwarding: bool = False) -> Host:
        """A namespace without routing daemons."""
        netns = self._new_netns(name, forwarding=forwarding)
        host = Host(name, netns, self)
        self.nodes[name] = host
        return host

    def node(self, name: str) -> Node:
        return self.nodes[name]

    @property
    def routers(self) -> dict[str, Router]:
        return {n: r for n, r in self.nodes.items() if isinstance(r, Router)}

    @property
    def hosts(self) -> dict[str, Host]:
        return {n: h for n, h in self.nodes.items() if isinstance(h, Host)}

    def link(
        self,
        a: Node | str,
        b: Node | str,
        a_if: str | None = None,
        b_if: str | None = None,
        a_addrs: Sequence[str] = (),
        b_addrs: Sequence[str] = (),
        mtu: int | None = None,
    ) -> Link:
        """A veth pair created directly inside both namespaces (no name ever appears in the
        root namespace), brought up, with the given addresses. Interface names default to
        ``eth<N>``, N counting the node's links from 1."""
        na = self.nodes[a] if isinstance(a, str) else a
        nb = self.nodes[b] if isinstance(b, str) else b
        a_if = a_if or f"eth{self._count_links(na.name) + 1}"
        b_if = b_if or f"eth{self._count_links(nb.name) + 1}"
        _check_ifname(a_if)
        _check_ifname(b_if)
        args = [IP, "link", "add", "name", a_if, "netns", na.netns]
        if mtu:
            args += ["mtu", str(mtu)]
        args += ["type", "veth", "peer", "name", b_if, "netns", nb.netns]
        run(args)
        link = Link(na.name, a_if, nb.name, b_if)
        self.links.append(link)
        for node, ifname, addrs in ((na, a_if, a_addrs), (nb, b_if, b_addrs)):
            for addr in addrs:
                node.add_address(ifname, addr)
            node.set_up(ifname)
        return link

    def _count_links(self, node: str) -> int:
        return sum((lk.a == node) + (lk.b == node) for lk in self.links)

    # -- teardown
    def close(self) -> None:
        """Stop every process and FRR daemon, delete every namespace, forget the run.
        Idempotent; failures of single steps do not stop the rest."""
        if self._closed:
            return
        self._closed = True
        for proc in self._processes:
            if proc.poll() is None:
                # the process runs in its own group (start_new_session): children go too
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 15)
        deadline = time.monotonic() + 5
        for proc in self._processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                proc.wait()
        for router in self.routers.values():
            with contextlib.suppress(LabError):
                router.stop()
        for node in self.nodes.values():
            with contextlib.suppress(LabError):
                delete_netns(node.netns)
        shutil.rmtree(self.rundir, ignore_errors=True)
        self.state_file.unlink(missing_ok=True)
        _open_labs.discard(self)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@atexit.register
def _close_open_labs() -> None:
    for lab in list(_open_labs):
        with contextlib.suppress(Exception):
            lab.close()


# -- crash recovery --------------------------------------------------------------------------


def _run_alive(pid: int, state_dir: Path, prefix: str) -> bool:
    if not alive(pid):
        return False
    # the pid may have been reused by an unrelated process: compare start times
    with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
        state = json.loads((state_dir / f"{prefix}.json").read_text())
        recorded = state.get("starttime")
        if recorded is not None and recorded != proc_starttime(pid):
            return False
    return True


def cleanup_stale(state_dir: Path | None = None) -> list[str]:
    """Remove what dead runs left behind: namespaces named ``ls-<pid>-<seq>-*`` (with every
    process inside them) and the run's state file and directory, for every run whose
    process is gone (or whose pid now belongs to another process). Live runs, including
    this process's, are never touched. Returns the namespaces removed."""
    sd = state_dir or STATE_DIR
    removed: list[str] = []
    dead_prefixes: set[str] = set()
    candidates: dict[str, list[str]] = {}
    for netns in list_netns():
        m = NAME_RE.match(netns)
        if m:
            candidates.setdefault(f"ls-{m.group(1)}-{m.group(2)}", []).append(netns)
    if sd.is_dir():
        for f in sd.glob("ls-*.json"):
            # a run that died before creating any namespace still has a state file to remove
            candidates.setdefault(f.stem, [])
    for prefix, namespaces in candidates.items():
        m = NAME_RE.match(prefix + "-")
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _run_alive(pid, sd, prefix):
            continue
        dead_prefixes.add(prefix)
        for netns in namespaces:
            delete_netns(netns)
            removed.append(netns)
    for prefix in dead_prefixes:
        shutil.rmtree(sd / prefix, ignore_errors=True)
        (sd / f"{prefix}.json").unlink(missing_ok=True)
    return sorted(removed)
