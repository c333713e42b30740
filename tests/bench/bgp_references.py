"""The references the agent's bulk benchmark is measured against, run in the same node
namespace and peered with the same FRR leaf as the agent:

- raw ExaBGP 5.0.15 driven by a minimal API script (:data:`RAW_API_SCRIPT`), with the same
  ExaBGP settings the agent uses (``reactor.speed`` 0.1, batched ``announce attributes``), so
  the ratio shows what the agent adds to ExaBGP;
- GoBGP (Debian's ``gobgpd``), routes added through its gRPC API by ``gobgp mrt inject
  global`` from an MRT TABLE_DUMP_V2 file (:func:`write_mrt`): one streaming API call for all
  routes. (``gobgp global rib add`` is one process and one API call per route: it measures
  process start-up, not GoBGP.) ``gobgp mrt inject`` (3.10) exits without waiting for the
  server to take the last paths of its stream, and gobgpd drops those (measured: 300-1,000
  of 10,000 lost). The file therefore ends with :data:`GOBGP_PADDING` extra paths outside
  the leaf's accepted ranges (the leaf refuses them): what is lost is padding, and the
  counted routes come first in the stream, so the padding barely delays them.

Neither announces graceful restart, so stopping one removes its routes from the leaf at once.
"""

from __future__ import annotations

import ipaddress
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.bgp.e2e.ecmp_lab import LEAF_ASN, NODE_ASN, AgentNode

RAW_API_SCRIPT = '''\
"""Minimal ExaBGP API process: on "announce" / "withdraw" read from a FIFO, write the
batched commands for every prefix of PREFIXES to ExaBGP (acks are off)."""
import sys
fifo, prefixes_file, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
prefixes = open(prefixes_file).read().split()
heads = {"announce": "announce attributes next-hop self nlri ", "withdraw": "withdraw attributes nlri "}
while True:
    with open(fifo) as f:  # blocks until the benchmark opens it for writing
        for command in f:
            head = heads[command.strip()]
            lines = [head + " ".join(prefixes[i : i + batch]) for i in range(0, len(prefixes), batch)]
            sys.stdout.write("\\n".join(lines) + "\\n")
            sys.stdout.flush()
'''


class RawExaBGP:
    """ExaBGP in ``node``'s namespace with :data:`RAW_API_SCRIPT`; ``announce()`` and
    ``withdraw()`` return as soon as the command reached the script."""

    def __init__(self, node: AgentNode, workdir: Path, prefixes: Sequence[str], batch: int = 1000) -> None:
        self.node = node
        workdir.mkdir(parents=True, exist_ok=True)
        self.fifo = workdir / "commands.fifo"
        if not self.fifo.exists():
            os.mkfifo(self.fifo)
        (workdir / "prefixes.txt").write_text("\n".join(prefixes) + "\n")
        script = workdir / "raw_api.py"
        script.write_text(RAW_API_SCRIPT)
        conf = workdir / "exabgp.conf"
        conf.write_text(
            "process raw {\n"
            f"  run {sys.executable} {script} {self.fifo} {workdir / 'prefixes.txt'} {batch};\n"
            "  encoder text;\n"
            "}\n"
            f"neighbor {node.leaf_v4} {{\n"
            f"  router-id {node.v4}; local-as {NODE_ASN}; peer-as {LEAF_ASN}; local-address {node.v4};\n"
            "  hold-time 9; outgoing-ttl 1; group-updates true; adj-rib-out true;\n"
            "  family { ipv4 unicast; }\n"
            "  api { processes [ raw ]; }\n"
            "}\n"
        )
        env = dict(os.environ)
        env.update({
            "exabgp.daemon.daemonize": "false",
            "exabgp.daemon.drop": "false",
            "exabgp.daemon.pid": "",
            "exabgp.log.destination": "stderr",
            "exabgp.log.level": "WARNING",
            "exabgp.api.ack": "false",
            "exabgp.api.cli": "false",
            "exabgp.tcp.bind": "",
            "exabgp.reactor.speed": "0.1",  # as the agent runs it
        })
        log = (workdir / "exabgp.log").open("ab")
        self.proc = node.host.popen([sys.executable, "-m", "exabgp", str(conf)], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def _send(self, command: str) -> None:
        with open(self.fifo, "w") as f:
            f.write(command + "\n")

    def announce(self) -> None:
        self._send("announce")

    def withdraw(self) -> None:
        self._send("withdraw")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _mrt_record(subtype: int, body: bytes) -> bytes:
    return struct.pack("!IHHI", int(time.time()), 13, subtype, len(body)) + body  # 13: TABLE_DUMP_V2


def write_mrt(path: Path, prefixes: Sequence[str], next_hop: str, peer_ip: str, peer_as: int) -> None:
    """An MRT TABLE_DUMP_V2 file (RFC 6396): a PEER_INDEX_TABLE with one peer, then one
    RIB_IPV4_UNICAST record per prefix with ORIGIN IGP, an empty AS_PATH and NEXT_HOP."""
    peer_id = socket.inet_aton(peer_ip)
    view = b""
    # peer type 0x02: IPv4 address, 4-byte AS
    peers = struct.pack("!B", 0x02) + peer_id + socket.inet_aton(peer_ip) + struct.pack("!I", peer_as)
    index = peer_id + struct.pack("!H", len(view)) + view + struct.pack("!H", 1) + peers
    attrs = (
        bytes([0x40, 1, 1, 0])  # ORIGIN IGP
        + bytes([0x40, 2, 0])  # AS_PATH, empty (GoBGP prepends its own AS towards eBGP peers)
        + bytes([0x40, 3, 4])
        + socket.inet_aton(next_hop)
    )
    out = [_mrt_record(1, index)]
    for seq, text in enumerate(prefixes):
        net = ipaddress.ip_network(text)
        nbytes = (net.prefixlen + 7) // 8
        entry = struct.pack("!HIH", 0, int(time.time()), len(attrs)) + attrs
        body = struct.pack("!IB", seq, net.prefixlen) + net.network_address.packed[:nbytes] + struct.pack("!H", 1) + entry
        out.append(_mrt_record(2, body))
    path.write_bytes(b"".join(out))


GOBGP_PADDING = 3000
PADDING_RANGE = "198.18.0.0/15"  # RFC 2544 benchmarking range, refused by the leaf's policy


class GoBGP:
    """gobgpd in ``node``'s namespace (gRPC on 127.0.0.1:50051 of that namespace, no BGP
    listener); routes from an MRT file injected with the ``gobgp`` CLI."""

    def __init__(self, node: AgentNode, workdir: Path, prefixes: Sequence[str]) -> None:
        self.node = node
        workdir.mkdir(parents=True, exist_ok=True)
        self._cli_cpu = 0.0
        self.mrt = workdir / "routes.mrt"
        pad = ipaddress.ip_network(PADDING_RANGE)
        padding = [f"{pad[i]}/32" for i in range(1, GOBGP_PADDING + 1)]
        write_mrt(self.mrt, [*prefixes, *padding], node.v4, node.v4, NODE_ASN)
        conf = workdir / "gobgpd.toml"
        conf.write_text(
            "[global.config]\n"
            f"  as = {NODE_ASN}\n"
            f'  router-id = "{node.v4}"\n'
            "  port = -1\n"
            "[[neighbors]]\n"
            "  [neighbors.config]\n"
            f'    neighbor-address = "{node.leaf_v4}"\n'
            f"    peer-as = {LEAF_ASN}\n"
            "  [neighbors.transport.config]\n"
            f'    local-address = "{node.v4}"\n'
            "  [[neighbors.afi-safis]]\n"
            "    [neighbors.afi-safis.config]\n"
            '      afi-safi-name = "ipv4-unicast"\n'
        )
        log = (workdir / "gobgpd.log").open("ab")
        self.proc = node.host.popen(
            ["gobgpd", "-f", str(conf), "-t", "toml", "--api-hosts", "127.0.0.1:50051", "--pprof-disable", "-l", "warn"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            return self.node.host.exec("gobgp", "-u", "127.0.0.1", "-p", "50051", *args, timeout=300)
        finally:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            self._cli_cpu += after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of gobgpd and of every ``gobgp`` CLI run."""
        return {"gobgpd": process_tree_cpu(self.proc.pid), "gobgp_cli": self._cli_cpu}

    def announce(self) -> None:
        """Every prefix, through one streaming API call (``gobgp mrt inject global``)."""
        self.cli("mrt", "inject", "global", str(self.mrt))

    def withdraw(self) -> None:
        self.cli("global", "rib", "-a", "ipv4", "del", "all")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- measuring -------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def assert_median_within(benchmark: Any, target_s: float, samples: list[float] | None = None, what: str = "wall") -> None:
    """The median of ``samples`` (default: the benchmark's own wall times) is at most
    ``target_s``. With ``--benchmark-disable`` there are no statistics: nothing to assert."""
    if samples is None:
        stats = getattr(benchmark, "stats", None)
        if stats is None:
            return
        median = float(stats.stats.median)
    else:
        median = sorted(samples)[len(samples) // 2]
    benchmark.extra_info[f"{what}_median_s"] = round(median, 3)
    assert median <= target_s, f"{what} median {median:.3f} s over the target {target_s} s"


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (the agent, ExaBGP, the relay)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except FileNotFoundError:
            continue
    return found


def process_tree_cpu(pid: int, tree: bool = True) -> float:
    """CPU seconds (user + system) spent so far by ``pid`` and (``tree``) its living descendants."""
    total = 0
    for p in process_tree(pid) if tree else [pid]:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS


def process_tree_cpu_by_role(pid: int, roles: dict[str, str], default: str) -> dict[str, float]:
    """CPU seconds so far of ``pid``'s living process tree, summed per role: a process
    whose command line contains a key of ``roles`` counts under its value (first match),
    any other under ``default``. E.g. ``{"bgp.speaker.relay": "relay", "exabgp": "exabgp"}``."""
    out: dict[str, float] = {}
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except FileNotFoundError:
            continue
        role = next((r for key, r in roles.items() if key in cmdline), default)
        out[role] = out.get(role, 0.0) + process_tree_cpu(p, tree=False)
    return out


def process_tree_rss(pid: int) -> int:
    """RSS in bytes of ``pid`` and all its descendants (the agent, ExaBGP, the relay)."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += sum(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
        except FileNotFoundError:
            continue
    return total
