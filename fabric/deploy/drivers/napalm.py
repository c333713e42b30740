"""The ``napalm`` driver: napalm's own ``junos`` (PyEZ over NETCONF) and ``nxos`` (NX-API)
drivers behind the project's driver protocol.

Junos has commit confirmed: ``commit_config(revert_in=N)`` is napalm's, with ``N`` rounded
up to whole minutes (Junos counts minutes; napalm refuses anything else).

NX-OS has none in napalm, so this driver builds the safety net on the switch itself:

1. ``checkpoint file bootflash:leafspine_before.cfg`` (the running config before);
2. the candidate is transferred again with a scheduler job appended
   (``feature scheduler``, ``scheduler job name leafspine-revert`` running
   ``rollback running-config file bootflash:leafspine_before.cfg``, and a one-time
   ``scheduler schedule`` starting ``revert_in`` seconds from the switch's own clock),
   so the replace installs the fabric config and the timer in one step;
3. napalm's replace (``rollback running-config file candidate_config.txt``);
4. :meth:`NapalmDriver.confirm_commit` removes the schedule, the job and (unless the
   fabric uses it) ``feature scheduler``. A switch that becomes unreachable never gets
   the confirm and rolls itself back to the checkpoint.

napalm's replace on NX-OS copies the candidate over SCP (netmiko), so the switch needs
``feature scp-server``; the SSH port is ``options.ssh_port`` (default 22) and its host key is
checked against the known_hosts file like every SSH connection here.

Every error leaves as a :mod:`fabric.deploy.errors` exception naming the device and the
cause, with the password removed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from fabric.deploy.driver import BgpNeighbor, Connection, EthernetSegment, Facts, Interface, Route, Vni
from fabric.deploy.drivers._common import check_host_key, scrub
from fabric.deploy.drivers.replies import (
    JUNOS_VNI_CONFIG,
    junos_routes,
    junos_tables,
    junos_vnis,
    nxos_routes,
    nxos_vnis,
)
from fabric.deploy.errors import CommitError, ConnectError, GetterUnsupported, LoadError, LockError
from fabric.errors import DeployError

T = TypeVar("T")

NX_CHECKPOINT = "bootflash:leafspine_before.cfg"
NX_JOB = "leafspine-revert"


def nxos_safety_net(when: datetime) -> str:
    """The scheduler config that rolls the switch back to :data:`NX_CHECKPOINT` at ``when``
    (the switch's clock) unless :meth:`NapalmDriver.confirm_commit` removes it first."""
    start = f"{when.year}:{when.strftime('%b').lower()}:{when.day:02d}:{when.hour:02d}:{when.minute:02d}"
    return (
        "feature scheduler\n"
        f"scheduler job name {NX_JOB}\n"
        f"  rollback running-config file {NX_CHECKPOINT}\n"
        "end-job\n"
        f"scheduler schedule name {NX_JOB}\n"
        f"  job name {NX_JOB}\n"
        f"  time start {start}\n"
    )


_CLOCK = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?\s+\S+\s+\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{4})")


def parse_nxos_clock(text: str) -> datetime | None:
    """``show clock`` text (``12:34:56.789 UTC Mon Nov 30 2026``) as a naive datetime."""
    m = _CLOCK.search(text)
    if not m:
        return None
    hh, mm, ss, mon, day, year = m.groups()
    try:
        return datetime.strptime(f"{year} {mon} {day} {hh}:{mm}:{ss}", "%Y %b %d %H:%M:%S")
    except ValueError:
        return None


class NapalmDriver:
    """napalm ``junos`` or ``nxos`` for one device (the platform comes from the connection)."""

    name = "napalm"

    def __init__(self, connection: Connection) -> None:
        if connection.platform not in ("junos", "nxos"):
            raise DeployError(f"{connection.host}: the napalm driver handles junos and nxos, not {connection.platform}")
        self.conn = connection
        self.platform = connection.platform
        self.label = connection.host
        self._dev: Any = None
        self._candidate: str | None = None
        self._replace = True

    # --- plumbing -----------------------------------------------------------------------------

    def _err(self, kind: type[DeployError], what: str, e: BaseException) -> DeployError:
        text = str(e).strip() or type(e).__name__
        return kind(scrub(self.conn, f"{self.label}: {what}: {text}"))

    def _call(self, kind: type[DeployError], what: str, fn: Callable[[], T]) -> T:
        if self._dev is None:
            raise ConnectError(f"{self.label}: not connected")
        try:
            return fn()
        except DeployError:
            raise
        except Exception as e:
            name = type(e).__name__
            if "Lock" in name or "locked" in str(e).lower():
                raise self._err(LockError, f"{what}: configuration database locked", e) from None
            if name in ("ConnectionClosedException", "ConnectionException", "ConnectTimeoutError") or isinstance(
                e, OSError | EOFError
            ):
                raise self._err(ConnectError, f"{what}: connection lost", e) from None
            raise self._err(kind, what, e) from None

    @property
    def _port(self) -> int:
        if self.conn.port:
            return self.conn.port
        if self.platform == "junos":
            return 22  # napalm's default (PyEZ's own is 830)
        return 80 if self.conn.options.get("transport") == "http" else 443

    # --- lifecycle ----------------------------------------------------------------------------

    def open(self) -> None:
        from napalm import get_network_driver

        timeout = max(1, math.ceil(self.conn.timeout))
        try:
            if self.platform == "junos":
                check_host_key(self.conn, self._port, self.label)
                cls = get_network_driver("junos")
                dev = cls(self.conn.host, self.conn.username, self.conn.password, timeout=timeout,
                          optional_args={"port": self._port, "keepalive": 0})
                dev.device._conn_open_timeout = timeout
                dev.open()
                self._dev = dev
                session = dev.device._conn._session
                check_host_key(self.conn, self._port, self.label, session._transport.get_remote_server_key())
            else:
                cls = get_network_driver("nxos")
                args: dict[str, Any] = {
                    "transport": self.conn.options.get("transport", "https"), "port": self._port,
                    "ssl_verify": self.conn.options.get("ssl_verify", "false").lower() == "true",
                }
                dev = cls(self.conn.host, self.conn.username, self.conn.password, timeout=timeout, optional_args=args)
                dev.open()
                self._dev = dev
        except DeployError:
            self.close()
            raise
        except Exception as e:
            self.close()
            raise self._err(ConnectError, f"cannot connect to {self.conn.host}:{self._port}", e) from None

    def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is None:
            return
        try:
            if self.platform == "nxos" and getattr(dev, "_netmiko_device", None) is not None:
                dev._netmiko_close()
            dev.close()
        except Exception:  # a dead session: nothing left to close
            pass

    # --- candidate ------------------------------------------------------------------------------

    def get_config(self) -> str:
        cfg = self._call(ConnectError, "get running config", lambda: self._dev.get_config(retrieve="running"))
        return str(cfg["running"])

    def _nx_ssh(self) -> None:
        """Open napalm's netmiko session ourselves: napalm forces port 22 and no host-key check."""
        if getattr(self._dev, "_netmiko_device", None) is not None:
            return
        port = int(self.conn.options.get("ssh_port", "22"))
        check_host_key(self.conn, port, self.label)
        args: dict[str, Any] = {
            "port": port, "conn_timeout": self.conn.timeout, "auth_timeout": self.conn.timeout,
            "banner_timeout": self.conn.timeout, "read_timeout_override": self.conn.timeout * 3,
        }
        if self.conn.known_hosts is not None:
            args.update(ssh_strict=True, system_host_keys=False, alt_host_keys=True, alt_key_file=self.conn.known_hosts)
        self._dev._netmiko_open(device_type="cisco_nxos", netmiko_optional_args=args)

    def load_replace_candidate(self, config: str) -> None:
        self._candidate, self._replace = config, True
        if self.platform == "nxos":
            self._call(ConnectError, "SSH for the candidate copy", self._nx_ssh)
        self._call(LoadError, "load candidate", lambda: self._dev.load_replace_candidate(config=config))

    def load_merge_candidate(self, config: str) -> None:
        self._candidate, self._replace = config, False
        self._call(LoadError, "load candidate", lambda: self._dev.load_merge_candidate(config=config))

    def compare_config(self) -> str:
        return str(self._call(LoadError, "compare", self._dev.compare_config) or "")

    def discard_config(self) -> None:
        self._call(LoadError, "discard", self._dev.discard_config)
        self._candidate = None

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if self.platform == "junos":
            minutes = math.ceil(revert_in / 60) * 60 if revert_in else None
            self._call(CommitError, "commit", lambda: self._dev.commit_config(message=message, revert_in=minutes))
            return
        if revert_in:
            self._nx_arm(revert_in)
        self._call(CommitError, "commit", self._dev.commit_config)

    def _nx_clock(self) -> datetime:
        out = self._call(ConnectError, "show clock", lambda: self._dev._send_command("show clock", raw_text=True))
        return parse_nxos_clock(str(out)) or datetime.now(UTC).replace(tzinfo=None)

    def _nx_arm(self, revert_in: int) -> None:
        if not self._replace or self._candidate is None:
            raise CommitError(f"{self.label}: commit confirmed on nxos needs a replace candidate")
        candidate = self._candidate
        # the scheduler counts whole minutes: round up, never fire before revert_in has passed
        when = self._nx_clock() + timedelta(seconds=revert_in)
        if when.second or when.microsecond:
            when = when.replace(second=0, microsecond=0) + timedelta(minutes=1)
        self._call(CommitError, "checkpoint", lambda: self._dev._send_command_list(
            ["terminal dont-ask", f"checkpoint file {NX_CHECKPOINT}", "no terminal dont-ask"]))
        self._call(LoadError, "load candidate with the revert timer",
                   lambda: self._dev.load_replace_candidate(config=candidate.rstrip("\n") + "\n" + nxos_safety_net(when)))

    def confirm_commit(self) -> None:
        if self.platform == "junos":
            self._call(CommitError, "confirm", self._dev.confirm_commit)
            return
        lines = [f"no scheduler schedule name {NX_JOB}", f"no scheduler job name {NX_JOB}"]
        if "feature scheduler" not in (self._candidate or ""):
            lines.append("no feature scheduler")
        self._call(CommitError, "confirm (remove the revert timer)", lambda: self._dev._send_config(lines))
        self._call(CommitError, "confirm (save)", self._dev._copy_run_start)

    def has_pending_commit(self) -> bool:
        if self.platform == "junos":
            return bool(self._call(ConnectError, "pending commit", self._dev.has_pending_commit))
        out = self._call(ConnectError, "show running-config",
                         lambda: self._dev._send_command("show running-config", raw_text=True))
        return f"scheduler schedule name {NX_JOB}" in str(out)

    def rollback(self) -> None:
        self._call(CommitError, "rollback", self._dev.rollback)

    # --- getters ----------------------------------------------------------------------------------

    def get_facts(self) -> Facts:
        f = self._call(ConnectError, "facts", self._dev.get_facts)
        return Facts(hostname=str(f.get("hostname", "")), vendor=str(f.get("vendor", "")), model=str(f.get("model", "")),
                     os_version=str(f.get("os_version", "")), serial=str(f.get("serial_number", "")),
                     uptime_s=float(f.get("uptime", 0) or 0))

    def get_bgp_neighbors(self) -> list[BgpNeighbor]:
        if self.platform == "junos":
            # one RPC (napalm's getter also asks get-instance-information and the uptime table)
            from fabric.deploy.drivers.netconf import junos_bgp_neighbors

            reply = self._call(ConnectError, "BGP neighbors", lambda: self._dev.device.rpc.get_bgp_neighbor_information())
            return junos_bgp_neighbors(reply)
        data = self._call(ConnectError, "BGP neighbors", self._dev.get_bgp_neighbors)
        out = []
        for vrf, body in (data or {}).items():
            for addr, p in (body.get("peers") or {}).items():
                fams = {f"{k}-unicast" if k in ("ipv4", "ipv6") else k: int(v.get("received_prefixes", 0) or 0)
                        for k, v in (p.get("address_family") or {}).items() if isinstance(v, dict)}
                out.append(BgpNeighbor(
                    vrf="default" if vrf == "global" else str(vrf), address=str(addr),
                    remote_as=int(p.get("remote_as", 0) or 0), local_as=int(p.get("local_as", 0) or 0),
                    state="established" if p.get("is_up") else "down", description=str(p.get("description", "")),
                    uptime_s=float(p.get("uptime", 0) or 0), prefixes_received=fams,
                ))
        return out

    def get_interfaces(self) -> list[Interface]:
        data = self._call(ConnectError, "interfaces", self._dev.get_interfaces)
        return [Interface(name=str(n), enabled=bool(i.get("is_enabled")), up=bool(i.get("is_up")),
                          mtu=int(i.get("mtu", 0) or 0), mac=str(i.get("mac_address", "")),
                          description=str(i.get("description", "")))
                for n, i in (data or {}).items()]

    def get_vnis(self) -> list[Vni]:
        if self.platform == "junos":
            dev = self._dev.device
            config = self._call(ConnectError, "EVPN/VNI configuration", lambda: dev.execute(JUNOS_VNI_CONFIG))
            rvtep = self._call(ConnectError, "remote VTEPs", lambda: dev.rpc.get_ethernet_switching_vxlan_rvtep_info())
            return junos_vnis(config, rvtep)
        vnis = self._call(ConnectError, "show nve vni", lambda: self._dev._send_command("show nve vni"))
        ingress = self._call(ConnectError, "show nve vni ingress-replication",
                             lambda: self._dev._send_command("show nve vni ingress-replication"))
        return nxos_vnis(vnis, ingress)

    def get_ethernet_segments(self) -> list[EthernetSegment]:
        raise GetterUnsupported(f"{self.label}: Ethernet segments: no getter on {self.platform} yet (the reply of "
                                "its Ethernet-segment command is not verified)")

    def get_routes(self, vrf: str = "default") -> list[Route]:
        routes: list[Route] = []
        if self.platform == "junos":
            dev = self._dev.device
            for table in junos_tables(vrf):
                reply = self._call(ConnectError, f"routes of {table}", partial(dev.rpc.get_route_information, table=table))
                routes += junos_routes(reply, vrf)
            return routes
        for cmd in (f"show ip route vrf {vrf}", f"show ipv6 route vrf {vrf}"):
            body = self._call(ConnectError, cmd, partial(self._dev._send_command, cmd))
            routes += nxos_routes(body, vrf)
        return routes
