"""An NX-OS test device: NX-API (HTTP JSON-RPC ``/ins``) and an SSH CLI with SCP.

What napalm's ``nxos`` driver does (``../shared/reference/push-protocols.md`` 2.4) works
against it: ``show hostname`` at open; merge = the candidate lines in one JSON-RPC batch
after ``checkpoint file rollback_config.txt``; replace = netmiko's SCP of
``bootflash:candidate_config.txt`` (``dir``, ``show file ... md5sum``, ``scp -t``), then
``show diff rollback-patch file sot_file file candidate_config.txt`` and
``rollback running-config file candidate_config.txt``; ``copy run startup-config``;
``rollback()`` from ``rollback_config.txt``; the getters' ``show`` commands.

The safety net of the fabric's nxos driver runs on the device's own parts, all real
NX-OS commands: ``checkpoint NAME`` / ``checkpoint file F``,
``rollback running-config checkpoint NAME`` / ``file F``, and the scheduler
(``feature scheduler``; ``scheduler job name J`` with its commands; ``scheduler schedule
name S`` with ``job name J`` and ``time start now`` or ``time start
[[[[yyyy:]mmm:]dd:]HH]:MM`` in device time (see ``show clock``)). A schedule whose time
comes runs its jobs' commands on the device, whether or not anyone can reach it.

Usage::

    with NxosDevice(config_text, hostname="leaf3") as dev:
        dev.host, dev.http_port, dev.ssh_port, dev.username, dev.password
        dev.running_text(); dev.files["candidate_config.txt"]; dev.checkpoints
        dev.faults.refuse_commit = "..."

``minute`` is the number of real seconds in a device minute: the device clock runs
``60 / minute`` times as fast as the real one, so a schedule five device minutes ahead
fires after ``5 * minute`` real seconds.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from types import TracebackType
from typing import Any

import paramiko

from tests.devices import nxos_config as nc
from tests.devices.common import Faults, HostKey, Reachability, SshServer
from tests.devices.network import Network, RibEntry, View, nxos_view, rib

__all__ = ["NxosDevice"]

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
INVALID = "% Invalid command at '^' marker.\n"
BOOTFLASH_TOTAL = 53_687_091_200


class CliError(Exception):
    """A command the device refuses; ``str()`` is what NX-OS prints."""


class _Drop(Exception):
    """Close the connection without answering."""


@dataclass
class Result:
    """One command's answer: structured ``body``, text ``msg``, or an error."""

    body: Any = None
    msg: str = ""
    error: str | None = None


@dataclass
class _Batch:
    """The mode stack of one batch of commands (one NX-API request, one CLI session)."""

    stack: list[tuple[int, nc.Line]] = field(default_factory=list)
    changed: bool = False
    config_mode: bool = False


def _norm_ip(addr: str) -> str:
    try:
        return str(ip_address(addr))
    except ValueError:
        return addr


def _nx_uptime(seconds: float) -> str:
    """NX-API's ISO 8601 duration (``P1DT2H3M4S``)."""
    s = int(seconds)
    return f"P{s // 86400}DT{s // 3600 % 24}H{s // 60 % 60}M{s % 60}S"


def _nx_short(ifname: str) -> str:
    """``Ethernet1/49`` -> ``Eth1/49``, ``loopback0`` -> ``Lo0`` (how the route table names them)."""
    for long, short in (("Ethernet", "Eth"), ("loopback", "Lo"), ("port-channel", "Po")):
        if ifname.lower().startswith(long.lower()):
            return short + ifname[len(long):]
    return ifname


def _norm_file(name: str) -> str:
    name = name.strip()
    for fs in ("bootflash:", "volatile:"):
        if name.startswith(fs):
            name = name[len(fs) :]
    return name.lstrip("/")


class NxosDevice:
    """One NX-OS test device (see the module docstring)."""

    def __init__(
        self,
        config: str = "",
        *,
        hostname: str = "n9k",
        host: str = "127.0.0.1",
        http_port: int = 0,
        ssh_port: int = 0,
        username: str = "admin",
        password: str = "admin-secret",
        host_key: HostKey | None = None,
        minute: float = 60.0,
        model: str = "N9K-C93180YC-FX",
        version: str = "10.3(4a)",
        network: Network | None = None,
    ) -> None:
        self.network = network
        self.username = username
        self.password = password
        self.hostname = hostname
        self.model = model
        self.version = version
        self.minute = minute
        self.host_key = host_key or HostKey.generate()
        self.faults = Faults()
        self.reach = Reachability()
        self.mu = threading.RLock()
        self.running = nc.parse(config)
        if not any(k.startswith("hostname ") for k in self.running.children):
            nc.apply_line(self.running, f"hostname {hostname}")
        self.startup = self.running_text()
        self._view = nxos_view(self.running)
        self.files: dict[str, bytes] = {}
        self.checkpoints: dict[str, str] = {}
        self.commits = 0
        self.commands: list[str] = []
        self.sessions_down = False
        self.scheduler_log: list[str] = []
        self._timers: dict[tuple[str, str], threading.Timer] = {}
        self._fired: set[tuple[str, str]] = set()
        self._lose_after_reply = False
        self._started = False
        self._real0 = time.time()
        self._http = _HttpServer(self, host, http_port)
        self.host = self._http.server_address[0]
        self.http_port = int(self._http.server_address[1])
        self._ssh = _CliServer(self, self.host, ssh_port)
        self.ssh_port = self._ssh.port
        self._http_thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> NxosDevice:
        self._started = True
        self._http_thread.start()
        self._ssh.start()
        if self.network is not None:
            self.network.join(self)
        return self

    def stop(self) -> None:
        with self.mu:
            for t in self._timers.values():
                t.cancel()
            self._timers.clear()
        if self.network is not None:
            self.network.leave(self)
        self.reach.up = True
        with self.reach.changed:
            self.reach.changed.notify_all()
        if self._started:
            self._http.shutdown()
        self._http.server_close()
        self._ssh.stop()

    def __enter__(self) -> NxosDevice:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------ test handle
    def running_text(self) -> str:
        with self.mu:
            return nc.render(self.running)

    def known_hosts_line(self) -> str:
        return self.host_key.known_hosts_line(self.host, self.ssh_port)

    def view(self) -> View:
        """What the network derives state from: recomputed after every change of the
        running configuration (under the device lock), read without a lock."""
        return self._view

    def lose_address(self) -> None:
        """Stop answering on the address (NX-API and SSH); the scheduler keeps running."""
        self.reach.up = False

    def restore_address(self) -> None:
        self.reach.up = True
        with self.reach.changed:
            self.reach.changed.notify_all()
        self._ssh.drop_all()

    def device_time(self) -> float:
        """The device clock (epoch seconds), running ``60 / minute`` times real time."""
        return self._real0 + (time.time() - self._real0) * 60.0 / self.minute

    @property
    def schedules(self) -> list[str]:
        """Names of the schedules whose timers are armed."""
        with self.mu:
            return sorted({name for name, _ in self._timers})

    # ------------------------------------------------------------------ commands
    def run(self, commands: list[str], batch: _Batch | None = None, *, internal: bool = False) -> list[Result]:
        """Run commands as one NX-API batch (stops at the first error)."""
        own = batch is None
        b = batch or _Batch()
        out: list[Result] = []
        with self.mu:
            try:
                for raw in commands:
                    self.commands.append(raw.strip())
                    try:
                        out.append(self._one(raw, b, internal))
                    except CliError as e:
                        out.append(Result(error=str(e)))
                        break
            finally:
                if own and b.changed:
                    self._committed(internal)
            if own and b.changed and not internal and self.faults.drop_on_commit == "after":
                raise _Drop()
        return out

    def _committed(self, internal: bool) -> None:
        self.commits += 1
        self._view = nxos_view(self.running)
        self._sync_scheduler()
        if internal:
            return
        if self.faults.sessions_down_after_commit:
            self.sessions_down = True
        if self.faults.lose_address_after_commit:
            self.faults.lose_address_after_commit = False
            self._lose_after_reply = True

    def lose_now(self) -> bool:
        """After a commit with ``lose_address_after_commit``: lose the address now (the
        answer to the commit is still sent). True if it happened."""
        if self._lose_after_reply:
            self._lose_after_reply = False
            self.lose_address()
            return True
        return False

    def _change(self, b: _Batch, internal: bool) -> None:
        """A command is about to change the running configuration: the faults that act on a
        commit act here."""
        if internal:
            return
        if self.faults.hold_lock:
            raise CliError("Configuration update aborted: the configuration is locked by another session (netops)\n")
        if self.faults.refuse_commit:
            raise CliError(self.faults.refuse_commit + "\n")
        if self.faults.drop_on_commit == "before":
            raise _Drop()

    def _rejected(self, cmd: str, path: tuple[str, ...] = ()) -> bool:
        bad = self.faults.reject_line
        if not bad:
            return False
        want = bad.split()
        have = " ".join((*path, cmd)).split()
        return have[: len(want)] == want or cmd.split()[: len(want)] == want

    def _one(self, raw: str, b: _Batch, internal: bool) -> Result:
        cmd = " ".join(raw.split())
        indent = len(raw) - len(raw.lstrip())
        if not cmd or cmd.startswith("!"):
            return Result()
        in_job = b.stack and b.stack[-1][1].text.startswith("scheduler job name ") and cmd not in ("exit", "end", "end-job")
        if in_job and (indent > b.stack[-1][0] or (indent == 0 and not cmd.startswith(nc.TOP_MODES))):
            self._change(b, internal)
            job = b.stack[-1][1]
            job.children[cmd] = nc.Line(cmd)
            b.changed = True
            return Result()
        if cmd in ("end", "end-job"):
            b.stack.clear()
            b.config_mode = False
            return Result()
        if cmd == "exit":
            if b.stack:
                b.stack.pop()
            else:
                b.config_mode = False
            return Result()
        if cmd in ("configure terminal", "configure", "conf t", "config t"):
            b.config_mode = True
            return Result()
        exec_result = self._exec(cmd, b, internal)
        if exec_result is not None:
            return exec_result
        return self._config(cmd, indent, b, internal)

    def _config(self, cmd: str, indent: int, b: _Batch, internal: bool) -> Result:
        top = cmd.startswith(nc.TOP_MODES + nc.TOP_LEAVES) or cmd.removeprefix("no ").startswith(nc.TOP_MODES + nc.TOP_LEAVES)
        if indent > 0:
            while b.stack and b.stack[-1][0] >= indent:
                b.stack.pop()
        elif top:
            b.stack.clear()
        elif b.stack and cmd.split()[0] == b.stack[-1][1].text.split()[0] and len(b.stack) > 1:
            b.stack.pop()  # a sibling of the last opened sub-mode (``neighbor B`` after ``neighbor A``)
        parent = b.stack[-1][1] if b.stack else self.running
        path = tuple(line.text for _, line in b.stack)
        if cmd.startswith("scheduler ") and "feature scheduler" not in self.running.children:
            raise CliError(INVALID)
        if self._rejected(cmd, path) and not internal:
            raise CliError(INVALID)
        in_schedule = bool(path) and path[-1].startswith("scheduler schedule name ")
        if in_schedule and cmd.startswith("time start ") and self._delay(cmd) is None:
            raise CliError(INVALID)
        self._change(b, internal)
        node = nc.apply_line(parent, cmd)
        b.changed = True
        if cmd.startswith("no "):
            return Result()
        if indent > 0 or top or cmd.startswith(("neighbor ", "address-family ", "vrf ", "template ", "vni ", "member vni ")):
            b.stack.append((indent, node))
        return Result()

    # ------------------------------------------------------------------ exec commands
    def _exec(self, cmd: str, b: _Batch, internal: bool) -> Result | None:
        words = cmd.split()
        if cmd in ("terminal dont-ask", "no terminal dont-ask") or cmd.startswith(("terminal length", "terminal width")):
            return Result()
        if re.fullmatch(r"copy (run|running-config) (start|startup-config)", cmd):
            self.startup = self.running_text()
            bar = "[########################################] 100%\n"
            return Result(msg=bar + "Copy complete, now saving to disk (please wait)...\nCopy complete.\n")
        if words[0] == "checkpoint":
            if len(words) >= 3 and words[1] == "file":
                self.files[_norm_file(words[2])] = self._show_running().encode()
                return Result(msg="Done\n")
            if len(words) >= 2:
                self.checkpoints[words[1]] = self._show_running()
                return Result(msg="Done\n")
            raise CliError(INVALID)
        if cmd.startswith("no checkpoint "):
            if self.checkpoints.pop(words[2], None) is None:
                raise CliError(f"Checkpoint name {words[2]} not found\n")
            return Result()
        if cmd == "clear checkpoint database":
            self.checkpoints.clear()
            return Result(msg="Done\n")
        if cmd.startswith("rollback running-config "):
            return self._rollback(words[2:], b, internal)
        if words[0] == "delete":
            name = _norm_file(words[1]) if len(words) > 1 else ""
            if self.files.pop(name, None) is None:
                raise CliError(f"No such file or directory: {name}\n")
            return Result()
        if words[0] == "dir":
            return Result(msg=self._dir(_norm_file(words[1]) if len(words) > 1 else ""))
        if words[0] == "show":
            return self._show(cmd, words)
        return None

    def _show_running(self) -> str:
        now = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(self.device_time()))
        head = f"!Command: show running-config\n!Running configuration last done at: {now}\n!Time: {now}\n\n"
        return head + nc.render(self.running)

    def _text_of(self, kind: str, name: str) -> str:
        if kind == "checkpoint":
            if name not in self.checkpoints:
                raise CliError(f"Checkpoint name {name} not found\n")
            return self.checkpoints[name]
        if kind == "file":
            data = self.files.get(_norm_file(name))
            if data is None:
                raise CliError(f"No such file or directory: {name}\n")
            return data.decode()
        if kind == "running-config":
            return self._show_running()
        raise CliError(INVALID)

    def _rollback(self, args: list[str], b: _Batch, internal: bool) -> Result:
        if len(args) < 2:
            raise CliError(INVALID)
        text = self._text_of(args[0], args[1])
        new = nc.parse(text)
        if not internal:
            bad = [f"{' '.join(p)} {t}".strip() for p, t in nc.lines(new) if self._rejected(t, p)]
            if bad:
                raise CliError(f"Rollback failed.\nError: {bad[0]}: {INVALID}")
        if not new.same(self.running):
            if not internal:
                try:
                    self._change(b, internal)
                except CliError as e:
                    raise CliError(f"Rollback failed.\n{e}") from None
            self.running = new
            b.changed = True
        return Result(
            msg="Note: Applying config parallelly may fail Rollback verification\nCollecting Running-Config\n"
            "#Generating Rollback Patch\nExecuting Rollback Patch\n#Generating Running-config for verification\n"
            "#Generating Patch for verification\nRollback completed successfully.\n"
        )

    def _dir(self, name: str) -> str:
        used = sum(len(v) for v in self.files.values())
        usage = (
            "\nUsage for bootflash://sup-local\n"
            f" {used} bytes used\n {BOOTFLASH_TOTAL - used} bytes free\n {BOOTFLASH_TOTAL} bytes total\n"
        )
        stamp = time.strftime("%b %d %H:%M:%S %Y", time.gmtime(self.device_time()))
        if name:
            if name not in self.files:
                raise CliError(f"No such file or directory: {name}\n")
            names = [name]
        else:
            names = sorted(self.files)
        listing = "".join(f"{len(self.files[n]):>12}    {stamp}  {n}\n" for n in names)
        return listing + usage

    def _show(self, cmd: str, words: list[str]) -> Result:
        if cmd in ("show running-config", "show running-config all", "show run"):
            return Result(msg=self._show_running(), body=self._show_running())
        if cmd == "show startup-config":
            return Result(msg=self.startup, body=self.startup)
        if words[1] == "file" and len(words) >= 3:
            name = _norm_file(words[2])
            data = self.files.get(name)
            if data is None:
                raise CliError(f"No such file or directory: {name}\n")
            if words[3:] == ["md5sum"]:
                return Result(msg=hashlib.md5(data).hexdigest() + "\n")
            return Result(msg=data.decode(), body=data.decode())
        m = re.fullmatch(r"show diff rollback-patch (\S+)(?: (\S+))? (\S+)(?: (\S+))?", cmd)
        if m:
            a_kind, a_name, b_kind, b_name = m.groups()
            old = nc.parse(self._text_of(a_kind, a_name or ""))
            new = nc.parse(self._text_of(b_kind, b_name or ""))
            text = nc.patch(old, new)
            body = text if text else "Rollback Patch is Empty\n"
            return Result(msg="Collecting Running-Config\n#Generating Rollback Patch\n!!\n" + body)
        if cmd == "show hostname":
            return Result(body={"hostname": self.hostname}, msg=self.hostname + "\n")
        if cmd == "show clock":
            t = self.device_time()
            g = time.gmtime(t)
            text = time.strftime("%H:%M:%S", g) + f".{int(t * 1000) % 1000:03d} UTC " + time.strftime("%a %b %d %Y", g)
            return Result(body={"simple_time": text + "\n"}, msg=text + "\n")
        if cmd == "show version":
            up = int(time.time() - self._real0)
            return Result(
                body={
                    "host_name": self.hostname, "chassis_id": f"Nexus9000 {self.model} Chassis",
                    "nxos_ver_str": self.version, "sys_ver_str": self.version, "kern_uptm_days": up // 86400,
                    "kern_uptm_hrs": up // 3600 % 24, "kern_uptm_mins": up // 60 % 60, "kern_uptm_secs": up % 60,
                },
                msg=f"Cisco Nexus Operating System (NX-OS) Software\n  NXOS: version {self.version}\n",
            )
        if cmd == "show inventory":
            return Result(body={"TABLE_inv": {"ROW_inv": [{"name": "Chassis", "desc": f"Nexus9000 {self.model} Chassis",
                                                           "productid": self.model, "serialnum": "FDO0000TEST"}]}})
        if cmd in ("show interface", "show interface brief"):
            return Result(body={"TABLE_interface": {"ROW_interface": self._interfaces()}})
        if cmd.startswith("show bgp") and "summary" in cmd:
            return Result(body=self._bgp_summary())
        if cmd == "show nve vni":
            return Result(body={"TABLE_nve_vni": {"ROW_nve_vni": self._vnis()}})
        if cmd == "show nve vni ingress-replication":
            return Result(body=self._ingress_replication())
        m = re.fullmatch(r"show (ip|ipv6) route(?: vrf (\S+))?", cmd)
        if m:
            return Result(body=self._routes(6 if m.group(1) == "ipv6" else 4, m.group(2) or "default"))
        if cmd == "show nve peers":
            return Result(body={})
        if cmd == "show checkpoint summary":
            return Result(msg="".join(f"{n}:\nCreated by {self.username}\n\n" for n in self.checkpoints))
        if cmd.startswith("show scheduler"):
            return Result(msg=self._scheduler_text())
        raise CliError(INVALID)

    # ------------------------------------------------------------------ state for getters
    def _interfaces(self) -> list[dict[str, Any]]:
        rows = []
        for k, line in self.running.children.items():
            if not k.startswith("interface "):
                continue
            name = k.split(None, 1)[1]
            shut = "shutdown" in line.children
            desc = next((c[len("description ") :] for c in line.children if c.startswith("description ")), "")
            mtu = next((c.split()[1] for c in line.children if c.startswith("mtu ")), "1500")
            state = "down" if shut else "up"
            rows.append({"interface": name, "state": state, "admin_state": state, "desc": desc, "eth_mtu": mtu,
                         "eth_hw_addr": "5254.0000.0001", "eth_bw": 100000000})
        return rows

    def _bgp_summary(self) -> dict[str, Any]:
        state = "Idle" if self.sessions_down else "Established"
        bgp = next((v for k, v in self.running.children.items() if k.startswith("router bgp ")), None)
        if bgp is None:
            return {}
        local_as = bgp.text.split()[2]
        rid = next((c.split()[1] for c in bgp.children if c.startswith("router-id ")), "0.0.0.0")
        afs = {"ipv4 unicast": (1, 1), "ipv6 unicast": (2, 1), "l2vpn evpn": (25, 70)}

        def vrf_row(name: str, mode: nc.Line) -> dict[str, Any]:
            by_af: dict[tuple[int, int], list[dict[str, Any]]] = {}
            for k, n in mode.children.items():
                if not k.startswith("neighbor "):
                    continue
                remote = next((c.split()[1] for c in n.children if c.startswith("remote-as ")), local_as)
                fams = [c[len("address-family ") :] for c in n.children if c.startswith("address-family ")] or ["ipv4 unicast"]
                nstate = self._session_state(name, k.split()[1], state)
                for fam in fams:
                    if fam in afs:
                        by_af.setdefault(afs[fam], []).append(
                            {"neighborid": k.split()[1], "neighboras": remote, "state": nstate, "prefixreceived": 0}
                        )
            return {
                "vrf-name-out": name, "vrf-router-id": rid, "vrf-local-as": local_as,
                "TABLE_af": {"ROW_af": [
                    {"af-id": af, "TABLE_saf": {"ROW_saf": {"safi": safi, "TABLE_neighbor": {"ROW_neighbor": rows}}}}
                    for (af, safi), rows in by_af.items()
                ]},
            }

        rows = [vrf_row("default", bgp)]
        rows += [vrf_row(k.split()[1], v) for k, v in bgp.children.items() if k.startswith("vrf ")]
        return {"TABLE_vrf": {"ROW_vrf": rows}}

    def _session_state(self, vrf: str, address: str, default: str) -> str:
        """In a network, a session to another member is up only if that member answers it."""
        if self.network is None:
            return default
        n = next((x for x in self.view().neighbors if x.instance == vrf and x.address == _norm_ip(address)), None)
        up = n is not None and self.network.session_state(self, n)
        return "Established" if up else "Idle"

    def _vnis(self) -> list[dict[str, Any]]:
        nve = self.running.children.get("interface nve1")
        if nve is None:
            return []
        vlan_of = {}
        for k, v in self.running.children.items():
            if k.startswith("vlan "):
                seg = next((c.split()[1] for c in v.children if c.startswith("vn-segment ")), None)
                if seg:
                    vlan_of[seg] = k.split()[1]
        rows = []
        for k in nve.children:
            m = re.match(r"member vni (\d+)( associate-vrf)?", k)
            if m:
                vni, l3 = m.group(1), bool(m.group(2))
                kind = f"L3 [{self._vrf_of(vni)}]" if l3 else f"L2 [{vlan_of.get(vni, '')}]"
                rows.append({"if-name": "nve1", "vni": vni, "mcast": "UnicastBGP", "vni-state": "Up", "mode": "CP",
                             "type": kind, "flags": ""})
        return rows

    def _ingress_replication(self) -> dict[str, Any]:
        """Every L2 VNI with the remote VTEPs learned over EVPN (in a network; none alone)."""
        remotes = self.network.remote_vteps(self) if self.network is not None else {}
        up = _nx_uptime(time.time() - self._real0)
        rows = []
        for vni in sorted(self.view().l2vnis):
            row: dict[str, Any] = {"if-name": "nve1", "vni": str(vni)}
            peers = [{"repl-ip": vt, "source": "BGP-IMET", "up-time": up} for vt in sorted(remotes.get(vni, []))]
            if peers:
                row["TABLE_peer"] = {"ROW_peer": peers[0] if len(peers) == 1 else peers}
            rows.append(row)
        return {"TABLE_nve_vni": {"ROW_nve_vni": rows[0] if len(rows) == 1 else rows}} if rows else {}

    def _routes(self, version: int, vrf: str) -> dict[str, Any]:
        """``show ip[v6] route vrf V`` (``all``: every VRF) from the running configuration and,
        in a network, the underlay's BGP routes."""
        view = self.view()
        vrfs = ["default"] + [k.split()[2] for k in self.running.children if k.startswith("vrf context ")]
        if vrf != "all":
            if vrf not in vrfs:
                raise CliError(f"% VRF {vrf} not found\n")
            vrfs = [vrf]
        local_as = view.local_as
        fam = "inet6" if version == 6 else "inet"
        up = _nx_uptime(time.time() - self._real0)
        out = []
        for name in vrfs:
            bgp = self.network.bgp_routes(self, fam) if self.network is not None and name == "default" else {}
            prefixes = [self._prefix_row(e, local_as, up) for e in rib(view, name, version, bgp)]
            af: dict[str, Any] = {"addrf": "ipv6" if version == 6 else "ipv4"}
            if prefixes:
                af["TABLE_prefix"] = {"ROW_prefix": prefixes[0] if len(prefixes) == 1 else prefixes}
            out.append({"vrf-name-out": name, "TABLE_addrf": {"ROW_addrf": af}})
        return {"TABLE_vrf": {"ROW_vrf": out[0] if len(out) == 1 else out}}

    @staticmethod
    def _prefix_row(e: RibEntry, local_as: str, up: str) -> dict[str, Any]:
        client = {"direct": "direct", "local": "local", "static": "static", "bgp": f"bgp-{local_as}"}[e.protocol]
        pref = {"direct": "0", "local": "0", "static": "1", "bgp": "20"}[e.protocol]
        paths = []
        for to, via in e.hops:
            path = {"ipnexthop": to or e.prefix.split("/")[0], "ifname": _nx_short(via), "uptime": up, "pref": pref,
                    "metric": "0", "clientname": client, "ubest": "true"}
            if e.protocol == "bgp":
                path["type"] = "external"
            paths.append(path)
        return {"ipprefix": e.prefix, "ucast-nhops": str(len(paths)), "mcast-nhops": "0",
                "attached": "true" if e.protocol in ("direct", "local") else "false",
                "TABLE_path": {"ROW_path": paths[0] if len(paths) == 1 else paths}}

    def _vrf_of(self, vni: str) -> str:
        for k, v in self.running.children.items():
            if k.startswith("vrf context ") and f"vni {vni}" in v.children:
                return k.split()[2]
        return ""

    # ------------------------------------------------------------------ scheduler
    def _scheduler_text(self) -> str:
        out = []
        for k, v in self.running.children.items():
            if k.startswith("scheduler schedule name "):
                out.append(f"Schedule Name       : {k.split()[3]}\n" + "".join(f"  {c}\n" for c in v.children))
        return "".join(out) or "Schedule(s) not found\n"

    def _sync_scheduler(self) -> None:
        """Arm a timer for every schedule of the running configuration, disarm the rest."""
        wanted: dict[tuple[str, str], nc.Line] = {}
        for k, v in self.running.children.items():
            if k.startswith("scheduler schedule name "):
                spec = next((c for c in v.children if c.startswith("time ")), None)
                if spec is not None:
                    wanted[(k.split()[3], spec)] = v
        for key in [key for key in self._timers if key not in wanted]:
            self._timers.pop(key).cancel()
        for key in wanted:
            if key in self._timers or key in self._fired:
                continue
            delay = self._delay(key[1])
            if delay is None:
                continue
            t = threading.Timer(delay, self._fire, args=(key,))
            t.daemon = True
            self._timers[key] = t
            t.start()

    def _delay(self, spec: str) -> float | None:
        """Real seconds until ``time start ...`` comes (None: a kind this device does not run)."""
        words = spec.split()
        if words[:2] != ["time", "start"] or len(words) < 3:
            return None
        if words[2] == "now":
            return 0.0
        fields = words[2].split(":")
        now = time.gmtime(self.device_time())
        parts = {"year": now.tm_year, "mon": now.tm_mon, "day": now.tm_mday}
        try:
            minute = int(fields[-1])
            hour = int(fields[-2]) if len(fields) >= 2 else now.tm_hour
            if len(fields) >= 3:
                parts["day"] = int(fields[-3])
            if len(fields) >= 4:
                parts["mon"] = MONTHS.index(fields[-4].lower()[:3]) + 1
            if len(fields) >= 5:
                parts["year"] = int(fields[-5])
        except (ValueError, IndexError):
            return None
        target = calendar.timegm((parts["year"], parts["mon"], parts["day"], hour, minute, 0, 0, 0, 0))
        return max(0.0, (target - self.device_time()) * self.minute / 60.0)

    def _fire(self, key: tuple[str, str]) -> None:
        with self.mu:
            if self._timers.pop(key, None) is None:
                return
            self._fired.add(key)
            schedule = self.running.children.get(f"scheduler schedule name {key[0]}")
            if schedule is None:
                return
            jobs = [c.split()[2] for c in schedule.children if c.startswith("job name ")]
            for job in jobs:
                line = self.running.children.get(f"scheduler job name {job}")
                if line is None:
                    continue
                commands = list(line.children)
                results = self.run(commands, internal=True)
                self.scheduler_log.append(
                    f"job {job}: " + "; ".join(f"{c} -> {r.error or 'ok'}" for c, r in zip(commands, results, strict=False))
                )
            self.sessions_down = False


# ---------------------------------------------------------------------------- NX-API


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, dev: NxosDevice, host: str, port: int) -> None:
        self.dev = dev
        super().__init__((host, port), _NxapiHandler)


class _NxapiHandler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _wait_reachable(self) -> bool:
        reach = self.server.dev.reach
        if reach.up:
            return True
        with reach.changed:
            while not reach.up:
                reach.changed.wait(0.5)
        return False  # restored: this connection was lost with the address

    def do_POST(self) -> None:
        dev = self.server.dev
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        if not self._wait_reachable():
            self.close_connection = True
            return
        if dev.faults.latency:
            time.sleep(dev.faults.latency)
        if self.path.rstrip("/") != "/ins":
            self._send(404, b"not found", "text/plain")
            return
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(f"{dev.username}:{dev.password}".encode()).decode()
        if auth != want:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="nxapi"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            payload = json.loads(data)
        except ValueError:
            self._send(400, b'{"error": "invalid json"}', "application/json")
            return
        try:
            body = self._jsonrpc(payload) if "ins_api" not in payload else self._ins_api(payload["ins_api"])
        except _Drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if not dev.lose_now() and not dev.reach.up:
            self.close_connection = True
            return
        self._send(200, json.dumps(body).encode(), "application/json-rpc")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _jsonrpc(self, payload: Any) -> Any:
        reqs = payload if isinstance(payload, list) else [payload]
        dev = self.server.dev
        cmds = [str(r.get("params", {}).get("cmd", "")) for r in reqs]
        results = dev.run(cmds)
        out = []
        for req, res in zip(reqs, results, strict=False):
            rid = req.get("id")
            if res.error is not None:
                out.append({"jsonrpc": "2.0", "error": {"code": -32602, "message": "Invalid params",
                                                        "data": {"msg": res.error}}, "id": rid})
            elif req.get("method") == "cli_ascii":
                out.append({"jsonrpc": "2.0", "result": {"msg": res.msg}, "id": rid})
            else:
                body = res.body if res.body is not None else (res.msg or None)
                out.append({"jsonrpc": "2.0", "result": None if body is None else {"body": body}, "id": rid})
        return out if isinstance(payload, list) and len(reqs) > 1 else out[0]

    def _ins_api(self, api: dict[str, Any]) -> Any:
        dev = self.server.dev
        cmds = [c.strip() for c in str(api.get("input", "")).split(";")]
        results = dev.run(cmds)
        outputs = []
        for cmd, res in zip(cmds, results, strict=False):
            if res.error is not None:
                outputs.append({"input": cmd, "clierror": res.error, "msg": "Input CLI command error", "code": "400"})
            elif api.get("type") == "cli_show_ascii":
                outputs.append({"input": cmd, "body": res.msg, "msg": "Success", "code": "200"})
            else:
                outputs.append({"input": cmd, "body": res.body if res.body is not None else {}, "msg": "Success", "code": "200"})
        return {"ins_api": {"type": api.get("type"), "version": "1.0", "sid": "eoc",
                            "outputs": {"output": outputs[0] if len(outputs) == 1 else outputs}}}


# ---------------------------------------------------------------------------- SSH CLI + SCP


class _CliServer(SshServer):
    def __init__(self, dev: NxosDevice, host: str, port: int) -> None:
        super().__init__(host, port, dev.host_key, dev.username, dev.password, dev.reach, lambda: dev.faults.latency)
        self.dev = dev

    def accepts(self, kind: str, arg: str) -> bool:
        return kind == "shell" or (kind == "exec" and (arg.startswith("scp -t ") or not arg.startswith("scp")))

    def serve_channel(self, chan: paramiko.Channel, kind: str, arg: str, transport: paramiko.Transport) -> None:
        if kind == "exec" and arg.startswith("scp -t "):
            self._scp_sink(chan, arg.split(None, 2)[2].strip("'\""))
        elif kind == "exec":
            text = "".join(_answer(r) for r in self.dev.run([arg]))
            chan.sendall(text.replace("\n", "\r\n").encode())
            chan.send_exit_status(0)
        else:
            _Shell(self.dev, chan, self._live).run()

    def _live(self) -> bool:
        return self.reach.up

    def _scp_sink(self, chan: paramiko.Channel, target: str) -> None:
        """The receiving end of ``scp -t``: ``C<mode> <size> <name>``, the bytes, ``\\0``."""
        buf = b""

        def need(n: int) -> bytes:
            nonlocal buf
            while len(buf) < n:
                data = chan.recv(65536)
                if not data:
                    raise EOFError
                buf += data
            out, buf = buf[:n], buf[n:]
            return out

        def line() -> bytes:
            nonlocal buf
            while b"\n" not in buf:
                data = chan.recv(65536)
                if not data:
                    raise EOFError
                buf += data
            out, _, buf = buf.partition(b"\n")
            return out

        chan.sendall(b"\0")
        try:
            while True:
                head = line()
                if head.startswith(b"T"):
                    chan.sendall(b"\0")
                    continue
                if not head.startswith(b"C"):
                    chan.sendall(b"\x01scp: unsupported request\n")
                    return
                _mode, size, name = head[1:].decode().split(" ", 2)
                chan.sendall(b"\0")
                data = need(int(size))
                need(1)
                dest = _norm_file(target)
                if not dest or dest.endswith("/"):
                    dest = dest + name
                with self.dev.mu:
                    self.dev.files[dest] = data
                chan.sendall(b"\0")
        except EOFError:
            pass
        chan.send_exit_status(0)


def _answer(res: Result) -> str:
    if res.error is not None:
        return res.error
    if res.msg:
        return res.msg
    if res.body is not None and not isinstance(res.body, str):
        return json.dumps(res.body, indent=2) + "\n"
    return ""


class _Shell:
    """An interactive NX-OS prompt: echoes what it reads, answers each line."""

    def __init__(self, dev: NxosDevice, chan: paramiko.Channel, live: Callable[[], bool]) -> None:
        self.dev = dev
        self.chan = chan
        self.live = live
        self.batch = _Batch()

    def prompt(self) -> str:
        return f"{self.dev.hostname}(config)# " if self.batch.config_mode or self.batch.stack else f"{self.dev.hostname}# "

    def run(self) -> None:
        chan = self.chan
        chan.sendall(b"\r\nCisco NX-OS Software (test device)\r\n" + self.prompt().encode())
        pending = b""
        while True:
            data = chan.recv(4096)
            if not data:
                return
            if not self.live():
                continue
            pending += data
            while True:
                idx = min((i for i in (pending.find(b"\r"), pending.find(b"\n")) if i >= 0), default=-1)
                if idx < 0:
                    break
                raw, pending = pending[:idx], pending[idx + 1 :]
                if pending.startswith(b"\n") and data[idx : idx + 1] == b"\r":
                    pending = pending[1:]
                line = raw.decode(errors="replace")
                if self.dev.faults.latency:
                    time.sleep(self.dev.faults.latency)
                out = ""
                if line.strip():
                    if line.strip() == "exit" and not self.batch.stack and not self.batch.config_mode:
                        chan.sendall(line.encode() + b"\r\n")
                        return
                    try:
                        results = self.dev.run([line], self.batch)
                    except _Drop:
                        return
                    if self.batch.changed:
                        self.batch.changed = False
                        with self.dev.mu:
                            self.dev._committed(False)
                        if self.dev.faults.drop_on_commit == "after":
                            return
                    out = "".join(_answer(r) for r in results)
                reply = line + "\r\n" + out.replace("\n", "\r\n") + self.prompt()
                self.dev.lose_now()
                chan.sendall(reply.encode())
