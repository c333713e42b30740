"""The ``frr`` deploy driver: an FRR router reached through vtysh (the lab's routers, or
any FRR box whose vty sockets are local).

Connection: ``host`` names the router; ``options``:

- ``vty_socket``: the directory holding the daemons' ``*.vty`` sockets (FRR's
  ``--vty_socket``); default ``/var/run/frr``;
- ``confdir``: where ``frr.conf`` lives (``vtysh write`` target); default ``vty_socket``'s;
- ``workdir``: where the driver keeps its candidate, the config before the last commit and
  the revert timer; default ``confdir``;
- ``netns``: a network namespace to run the revert timer in (so removing the namespace
  stops it with the router).

The candidate lifecycle uses FRR's own tools:

- ``load_replace_candidate`` stages a whole ``frr.conf`` after ``vtysh --dryrun`` checked it
  (a refused line raises :class:`LoadError`); ``load_merge_candidate`` stages lines that are
  added to the running config as they are;
- ``compare_config`` is ``frr-reload.py --test`` (Debian package ``frr-pythontools``): the
  lines to delete (``-``) and add (``+``) under their context;
- ``commit_config`` is ``frr-reload.py --reload`` (replace) or ``vtysh -f`` (merge); the
  running config before the commit is kept, and ``rollback`` reloads it. With
  ``revert_in`` a timer process does that rollback by itself unless ``confirm_commit``
  cancels it first (FRR has no commit-confirmed of its own);
- getters read vtysh's JSON (``show bgp vrf all neighbors json``, ``show evpn vni detail
  json``, ``show ip route json`` ...).

What ``show running-config`` leaves out is not a difference: FRR prints neither ``frr
version`` nor values equal to its defaults (BFD ``detect-multiplier 3``, intervals 300 ms),
and vtysh prints the machine's hostname, which lab routers share (one UTS namespace), so
those lines of the ``frr-reload.py`` diff are dropped (:func:`meaningful_diff`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal

from fabric.deploy.driver import BgpNeighbor, Connection, EthernetSegment, Facts, Interface, Route, Vni
from fabric.deploy.errors import CommitError, ConnectError, LoadError
from fabric.files import atomic_write

VTYSH = shutil.which("vtysh") or "/usr/bin/vtysh"
FRR_RELOAD = "/usr/lib/frr/frr-reload.py"
IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"

#: (context, line) pairs ``show running-config`` never prints although a config may say them.
_FRR_DEFAULTS = {
    ("bfd/profile", "detect-multiplier 3"),
    ("bfd/profile", "transmit-interval 300"),
    ("bfd/profile", "receive-interval 300"),
    ("bfd/profile", "echo-interval 50"),
}
_NEVER_SHOWN_TOP = ("frr version ", "service integrated-vtysh-config", "hostname ", "no hostname ")
#: FRR 8.4 applies ``attribute-unchanged next-hop`` on an eBGP EVPN peer group but leaves it
#: out of ``show running-config``.
_UNSHOWN_RE = re.compile(r"^neighbor \S+ attribute-unchanged next-hop$")


@dataclass(frozen=True)
class DiffLine:
    """One line of the ``frr-reload.py`` diff: ``sign`` ``+`` or ``-``, the context lines
    (``router bgp 65001``, ``address-family l2vpn evpn``) and the line itself."""

    sign: str
    context: tuple[str, ...]
    line: str


def parse_reload_test(text: str) -> list[DiffLine]:
    """Parse ``frr-reload.py --test`` output (pure): sections "Lines To Delete" and
    "Lines To Add"; each entry is printed as its context lines (from column 0) followed by
    the line itself."""
    out: list[DiffLine] = []
    sign = ""
    block: list[str] = []

    def flush() -> None:
        if sign and block:
            *ctx, last = block
            out.append(DiffLine(sign, tuple(c.strip() for c in ctx), last.strip()))

    for raw in text.splitlines():
        if raw.startswith("Lines To Delete"):
            flush()
            sign, block = "-", []
            continue
        if raw.startswith("Lines To Add"):
            flush()
            sign, block = "+", []
            continue
        if not raw.strip() or set(raw.strip()) == {"="}:
            continue
        if not sign:
            continue
        if not raw.startswith(" ") and block:
            flush()  # every entry starts with its whole context, from column 0
            block = []
        block.append(raw)
    flush()
    return out


def _context_key(ctx: tuple[str, ...]) -> str:
    return "/".join(c.split()[0] for c in ctx)


def meaningful_diff(lines: Sequence[DiffLine]) -> list[DiffLine]:
    """``lines`` without what FRR never shows in its running config (see module doc)."""
    keep: list[DiffLine] = []
    for d in lines:
        if not d.context and d.line.startswith(_NEVER_SHOWN_TOP):
            continue
        if (_context_key(d.context), d.line) in _FRR_DEFAULTS:
            continue
        if d.sign == "+" and _context_key(d.context) == "router/address-family" and _UNSHOWN_RE.match(d.line):
            continue
        if d.context and not d.line:
            continue
        keep.append(d)
    return keep


def format_diff(lines: Sequence[DiffLine]) -> str:
    """The diff as text: each context printed once, then its ``-``/``+`` lines."""
    out: list[str] = []
    last: tuple[str, ...] | None = None
    for d in lines:
        if d.context != last:
            for depth, c in enumerate(d.context):
                if last is None or depth >= len(last) or last[depth] != c:
                    out.append("  " + " " * depth + c)
        out.append(f"{d.sign} " + " " * len(d.context) + d.line)
        last = (*d.context, d.line)  # a line that opens a context is not printed again
    return "\n".join(out) + ("\n" if out else "")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _clean(text: str, limit: int = 2000) -> str:
    """Tool output fit for an error message: no colour codes, the last ``limit`` characters."""
    return _ANSI.sub("", text).strip()[-limit:]


def strip_running(text: str) -> str:
    """``show running-config`` without vtysh's banner lines."""
    lines = text.splitlines()
    while lines and (lines[0].startswith(("Building configuration", "Current configuration")) or lines[0] in ("", "!")):
        lines.pop(0)
    return "\n".join(lines) + "\n"


class FrrDriver:
    """The :class:`~fabric.deploy.driver.Driver` for FRR (registry name ``frr``)."""

    name = "frr"

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        opts = connection.options
        self.vty = Path(opts.get("vty_socket", "/var/run/frr"))
        self.confdir = Path(opts.get("confdir", str(self.vty)))
        self.workdir = Path(opts.get("workdir", str(self.confdir)))
        self.netns = opts.get("netns", "")
        self.timeout = connection.timeout
        self._candidate: Path | None = None
        self._mode = "replace"
        self._diff: list[DiffLine] | None = None
        self._opened = False

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return self.connection.host

    def _run(self, args: Sequence[str], what: str, input: str | None = None,
             timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(list(args), capture_output=True, text=True, input=input,
                                  timeout=timeout or self.timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ConnectError(f"{self.device}: {what} timed out after {timeout or self.timeout:.0f} s") from None
        except FileNotFoundError as e:
            raise ConnectError(f"{self.device}: {what}: {e.filename} is not installed") from None

    def _vtysh(self, *commands: str) -> str:
        args = [VTYSH, "--vty_socket", str(self.vty)]
        for c in commands:
            args += ["-c", c]
        proc = self._run(args, "vtysh")
        if proc.returncode != 0:
            raise ConnectError(f"{self.device}: vtysh {' / '.join(commands)}: {(proc.stderr or proc.stdout).strip()}")
        return proc.stdout

    def _json(self, command: str) -> Any:
        out = self._vtysh(command)
        if not out.strip():
            return {}
        try:
            return json.loads(out)
        except ValueError:
            raise ConnectError(f"{self.device}: `{command}` did not answer JSON: {out.strip()[:200]}") from None

    def _reload_args(self, mode: str, path: Path) -> list[str]:
        return [sys.executable, FRR_RELOAD, mode, "--stdout", "--log-level", "error",
                "--bindir", str(Path(VTYSH).parent), "--confdir", str(self.confdir), "--rundir", str(self.workdir),
                "--vty_socket", str(self.vty), str(path)]

    # -- lifecycle ------------------------------------------------------------------------------
    def open(self) -> None:
        if not (self.vty / "zebra.vty").exists():
            raise ConnectError(f"{self.device}: no FRR at {self.vty} (zebra.vty missing)")
        if not os.path.exists(FRR_RELOAD):
            raise ConnectError(f"{self.device}: {FRR_RELOAD} missing (Debian package frr-pythontools)")
        self._vtysh("show version")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._opened = True

    def close(self) -> None:
        self._opened = False

    def get_config(self) -> str:
        return strip_running(self._vtysh("show running-config"))

    def _stage(self, config: str, mode: str) -> None:
        path = self.workdir / "candidate.conf"
        path.write_text(config)
        if mode == "replace":
            check = self._run([VTYSH, "--config_dir", str(self.confdir), "--dryrun", "-f", str(path)], "vtysh --dryrun")
            if check.returncode != 0 or "% " in check.stdout:
                path.unlink(missing_ok=True)
                raise LoadError(f"{self.device}: FRR refuses the candidate: {_clean(check.stdout + check.stderr)}")
        self._candidate, self._mode, self._diff = path, mode, None

    def load_replace_candidate(self, config: str) -> None:
        self._stage(config, "replace")

    def load_merge_candidate(self, config: str) -> None:
        self._stage(config, "merge")

    def _diff_lines(self) -> list[DiffLine]:
        if self._candidate is None:
            return []
        if self._mode == "merge":
            running = set(self.get_config().splitlines())
            return [DiffLine("+", (), ln.strip()) for ln in self._candidate.read_text().splitlines()
                    if ln.strip() and not ln.startswith("!") and ln not in running]
        proc = self._run(self._reload_args("--test", self._candidate), "frr-reload.py --test", timeout=max(self.timeout, 60))
        if proc.returncode != 0:
            raise LoadError(f"{self.device}: frr-reload.py --test failed: {_clean(proc.stdout + proc.stderr)}")
        return meaningful_diff(parse_reload_test(proc.stdout))

    def compare_config(self) -> str:
        self._diff = self._diff_lines()
        return format_diff(self._diff)

    def discard_config(self) -> None:
        if self._candidate is not None:
            self._candidate.unlink(missing_ok=True)
        self._candidate, self._diff = None, None

    @property
    def _before(self) -> Path:
        return self.workdir / "rollback.conf"

    @property
    def _timer(self) -> Path:
        return self.workdir / "revert.pid"

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if self._candidate is None:
            raise CommitError(f"{self.device}: nothing staged to commit")
        atomic_write(self._before, self.get_config())  # the rollback point survives a crash
        diff = self._diff
        if self._mode == "merge" or (diff is not None and not any(d.sign == "-" for d in diff)):
            # nothing to delete (a merge, or a replace that only adds, as on a fresh router):
            # the candidate applied as it is gives the same result as frr-reload, in one vtysh
            proc = self._run([VTYSH, "--config_dir", str(self.confdir), "--vty_socket", str(self.vty),
                              "-f", str(self._candidate)], "vtysh -f")
            failed = proc.returncode != 0 or "% " in proc.stdout
            if not failed:
                self._run([VTYSH, "--config_dir", str(self.confdir), "--vty_socket", str(self.vty), "-c", "write"],
                          "vtysh write")
        else:
            proc = self._run(self._reload_args("--reload", self._candidate), "frr-reload.py --reload",
                             timeout=max(self.timeout, 120))
            failed = proc.returncode != 0
        if failed:
            raise CommitError(f"{self.device}: commit failed: {_clean(proc.stdout + proc.stderr)}")
        self.discard_config()
        if revert_in is not None:
            self._start_timer(revert_in)

    def _start_timer(self, seconds: int) -> None:
        # the "device" reverts by itself: a detached process, in the router's namespace,
        # that reloads the saved config unless confirm_commit kills it first
        script = ("import subprocess, sys, time; time.sleep(float(sys.argv[1])); "
                  "subprocess.run(sys.argv[2:], check=False)")
        args = [sys.executable, "-c", script, str(seconds), *self._reload_args("--reload", self._before)]
        if self.netns:
            args = [IP, "netns", "exec", self.netns, *args]
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        self._timer.write_text(str(proc.pid))

    def _timer_pid(self) -> int | None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            pid = int(self._timer.read_text().strip())
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, 0)
                with contextlib.suppress(ChildProcessError):
                    if os.waitpid(pid, os.WNOHANG) != (0, 0):
                        return None  # our own child that already finished
                return pid
        return None

    def confirm_commit(self) -> None:
        pid = self._timer_pid()
        if pid is None:
            raise CommitError(f"{self.device}: no commit is waiting for confirmation")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        self._timer.unlink(missing_ok=True)

    def has_pending_commit(self) -> bool:
        return self._timer_pid() is not None

    def rollback(self) -> None:
        if not self._before.exists():
            raise CommitError(f"{self.device}: no commit to roll back")
        pid = self._timer_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            self._timer.unlink(missing_ok=True)
        proc = self._run(self._reload_args("--reload", self._before), "frr-reload.py --reload (rollback)",
                         timeout=max(self.timeout, 120))
        if proc.returncode != 0:
            raise CommitError(f"{self.device}: rollback failed: {_clean(proc.stdout + proc.stderr)}")

    # -- getters -----------------------------------------------------------------------------
    def get_facts(self) -> Facts:
        version = self._vtysh("show version")
        first = next((ln for ln in version.splitlines() if ln.startswith("FRRouting")), "FRRouting")
        os_version = first.split()[1] if len(first.split()) > 1 else ""
        uptime = 0.0
        with contextlib.suppress(FileNotFoundError, ValueError):
            uptime = time.time() - (self.vty / "zebra.pid").stat().st_mtime
        return Facts(hostname=self.device, vendor="FRRouting", model="frr", os_version=os_version, uptime_s=uptime)

    def get_bgp_neighbors(self) -> list[BgpNeighbor]:
        return parse_bgp_summary(self._json("show bgp vrf all summary json"))

    def get_interfaces(self) -> list[Interface]:
        return parse_interfaces(self._json("show interface json"))

    def get_vnis(self) -> list[Vni]:
        return parse_vnis(self._json("show evpn vni detail json"))

    def get_ethernet_segments(self) -> list[EthernetSegment]:
        return parse_segments(self._json("show evpn es detail json"))

    def get_routes(self, vrf: str = "default") -> list[Route]:
        routes: list[Route] = []
        for cmd in ("ip", "ipv6"):
            routes += parse_routes(self._json(f"show {cmd} route vrf {vrf} json"), vrf)
        return routes


# -- pure parsers of vtysh JSON ------------------------------------------------------------------

_FAMILIES = {"ipv4Unicast": "ipv4-unicast", "ipv6Unicast": "ipv6-unicast", "l2VpnEvpn": "l2vpn-evpn"}


def parse_bgp_summary(data: Any) -> list[BgpNeighbor]:
    """``show bgp vrf all summary json`` -> one record per (VRF, peer address); a peer
    active in several families is one record with a count per family."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    if not isinstance(data, dict):
        return []
    for vrf_name, vrf in data.items():
        if not isinstance(vrf, dict):
            continue
        for af_key, af in vrf.items():
            family = _FAMILIES.get(af_key)
            if family is None or not isinstance(af, dict):
                continue
            for addr, p in (af.get("peers") or {}).items():
                rec = merged.setdefault((vrf_name, addr), {"p": p, "local": af.get("as", 0), "prefixes": {}})
                rec["prefixes"][family] = int(p.get("pfxRcd", 0) or 0)
    out = []
    for (vrf_name, addr), rec in merged.items():
        p = rec["p"]
        out.append(BgpNeighbor(
            vrf=vrf_name,
            address=addr,
            remote_as=int(p.get("remoteAs", 0) or 0),
            state="established" if p.get("state") == "Established" else "down",
            local_as=int(p.get("localAs", rec["local"]) or 0),
            description=str(p.get("desc", "")),
            uptime_s=float(p.get("peerUptimeMsec", 0) or 0) / 1000,
            prefixes_received=dict(rec["prefixes"]),
        ))
    return sorted(out, key=lambda n: (n.vrf, n.address))


def parse_interfaces(data: Any) -> list[Interface]:
    out = []
    for name, i in (data.items() if isinstance(data, dict) else ()):
        if not isinstance(i, dict):
            continue
        out.append(Interface(
            name=name,
            enabled=i.get("administrativeStatus", "up") == "up",
            up=i.get("operationalStatus") == "up",
            mtu=int(i.get("mtu", 0) or 0),
            mac=str(i.get("hardwareAddress", "")),
            description=str(i.get("description", "")),
        ))
    return sorted(out, key=lambda i: i.name)


def parse_vnis(data: Any) -> list[Vni]:
    """``show evpn vni detail json`` (a list in FRR 8.4; a dict by VNI in others)."""
    items = data.values() if isinstance(data, dict) else data if isinstance(data, list) else []
    out = []
    for v in items:
        if not isinstance(v, dict) or "vni" not in v:
            continue
        kind: Literal["l2", "l3"] = "l3" if str(v.get("type", "L2")).upper() == "L3" else "l2"
        remotes = v.get("remoteVteps") or v.get("numRemoteVteps")
        remote_list: list[str] = []
        if isinstance(remotes, list):
            for r in remotes:
                remote_list.append(str(r.get("ip")) if isinstance(r, dict) else str(r))
        out.append(Vni(
            vni=int(v["vni"]),
            kind=kind,
            vrf=str(v.get("vrf", "")),
            local_vtep=str(v.get("vtepIp", v.get("localVtepIp", ""))),
            remote_vteps=tuple(sorted(remote_list, key=_addr_key)),
        ))
    return sorted(out, key=lambda v: v.vni)


def parse_segments(data: Any) -> list[EthernetSegment]:
    """``show evpn es detail json`` (FRR 8.4: a list of ``{"esi", "accessPort", "flags":
    ["local", ...], "vteps": [{"vtep": ...}]}``; ``vteps`` only once type-4 routes arrived)."""
    out = []
    for e in data if isinstance(data, list) else []:
        if not isinstance(e, dict) or "esi" not in e:
            continue
        raw = e.get("flags")
        flags: list[Any] = raw if isinstance(raw, list) else []
        vteps = [str(v.get("vtep")) for v in e.get("vteps", []) if isinstance(v, dict) and v.get("vtep")]
        out.append(EthernetSegment(esi=str(e["esi"]).lower(), local="local" in flags,
                                   vteps=tuple(sorted(vteps, key=_addr_key)), port=str(e.get("accessPort", ""))))
    return sorted(out, key=lambda x: x.esi)


def _addr_key(a: str) -> tuple[int, int]:
    try:
        ip = ip_address(a)
    except ValueError:
        return (9, 0)
    return (ip.version, int(ip))


def parse_routes(data: Any, vrf: str = "default") -> list[Route]:
    """``show ip[v6] route json``: the selected route of each prefix with the next hops
    that are installed (``fib``), in address order; directly connected ones as ``dev``."""
    out = []
    for prefix, entries in (data.items() if isinstance(data, dict) else ()):
        for e in entries if isinstance(entries, list) else ():
            if not isinstance(e, dict) or not e.get("selected"):
                continue
            hops = []
            for nh in e.get("nexthops", []):
                if not nh.get("fib") and not nh.get("active"):
                    continue
                hops.append(str(nh.get("ip") or nh.get("interfaceName") or ""))
            out.append(Route(prefix=prefix, vrf=vrf, protocol=str(e.get("protocol", "")),
                             next_hops=tuple(sorted(set(hops), key=_addr_key))))
    return out


def driver(connection: Connection) -> FrrDriver:
    """Registry factory."""
    return FrrDriver(connection)
