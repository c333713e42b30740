"""One probe per check kind, found through the ``PROBES`` registry.

A probe is an async callable ``probe(check) -> ProbeResult``. Probes may raise; use
:func:`run_probe`, which bounds the probe by ``check.timeout`` and turns every exception
and the timeout into a failed :class:`ProbeResult`. A probe must clean up on cancellation
(the exec probe kills its process group): that is how a timeout reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from bgp.health.config import DnsCheck, ExecCheck, HealthCheck, HttpCheck, TcpCheck


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of one probe: ``ok``, a short human ``detail`` and the ``duration`` in seconds."""

    ok: bool
    detail: str = ""
    duration: float = 0.0


Probe = Callable[[HealthCheck], Awaitable[ProbeResult]]


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    # A peer that never finishes the TLS close must not hold the probe; the timeout covers us
    # anyway, but closing is best effort.
    with contextlib.suppress(OSError, ssl.SSLError, asyncio.TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 0.5)


async def probe_tcp(check: HealthCheck) -> ProbeResult:
    assert isinstance(check, TcpCheck)
    try:
        _, writer = await asyncio.open_connection(check.host, check.port)
    except ConnectionRefusedError:
        # A RST (or an ICMP unreachable) is a definite no: fail now, not at the timeout.
        return ProbeResult(False, f"connection to {check.host}:{check.port} refused")
    await _close(writer)
    return ProbeResult(True, f"connected to {check.host}:{check.port}")


async def probe_http(check: HealthCheck) -> ProbeResult:
    assert isinstance(check, HttpCheck)
    parts = urlsplit(check.url)
    host = parts.hostname or ""
    tls: ssl.SSLContext | None = None
    if parts.scheme == "https":
        tls = ssl.create_default_context()
        if not check.verify_tls:
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
    port = parts.port or (443 if tls else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host_header = check.host_header or (parts.netloc.rsplit("@", 1)[-1])
    reader, writer = await asyncio.open_connection(host, port, ssl=tls, server_hostname=host if tls else None)
    try:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: bgp-agent-health\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        )
        writer.write(request.encode("ascii"))
        await writer.drain()
        line = await reader.readline()
    finally:
        await _close(writer)
    fields = line.decode("latin-1").split(None, 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        return ProbeResult(False, f"not an HTTP status line: {line[:60]!r}")
    status = int(fields[1])
    ok = status in check.expected_status
    return ProbeResult(ok, f"HTTP {status}" + ("" if ok else f", expected {check.expected_status}"))


async def probe_dns(check: HealthCheck) -> ProbeResult:
    assert isinstance(check, DnsCheck)
    rdtype = dns.rdatatype.from_text(check.qtype)
    query = dns.message.make_query(check.qname, rdtype)
    if check.transport == "tcp":
        try:
            response = await dns.asyncquery.tcp(query, check.server, timeout=check.timeout, port=check.port)
        except ConnectionRefusedError:
            return ProbeResult(False, f"connection to {check.server}:{check.port} refused")
    else:
        answer = await _udp_query(query, check.server, check.port)
        if isinstance(answer, str):
            return ProbeResult(False, answer)
        response = answer
    rcode = dns.rcode.to_text(response.rcode())
    if rcode != check.expected_rcode:
        return ProbeResult(False, f"rcode {rcode}, expected {check.expected_rcode}")
    if check.require_answer and not any(rr.rdtype == rdtype for rr in response.answer):
        return ProbeResult(False, f"rcode {rcode} but no {check.qtype} record in the answer")
    return ProbeResult(True, f"rcode {rcode}, {sum(len(rr) for rr in response.answer)} answer records")


class _DnsOverUdp(asyncio.DatagramProtocol):
    """One query on a *connected* UDP socket. Connected, because only then does the kernel
    report an ICMP port unreachable (nothing listens: the resolver is dead) to the socket,
    as ECONNREFUSED; dnspython's unconnected socket never sees it and waits for the timeout.
    Datagrams that are not the answer to this query (wrong id, garbage) are ignored."""

    def __init__(self, query: dns.message.Message) -> None:
        self.query = query
        self.done: asyncio.Future[dns.message.Message | str] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # the selector loop's datagram transport does not subclass DatagramTransport
        cast(asyncio.DatagramTransport, transport).sendto(self.query.to_wire())

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            response = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return
        if self.query.is_response(response) and not self.done.done():
            self.done.set_result(response)

    def error_received(self, exc: Exception) -> None:
        if self.done.done():
            return
        if isinstance(exc, ConnectionRefusedError):
            self.done.set_result("refused (ICMP port unreachable): nothing listens")
        else:
            self.done.set_result(f"{type(exc).__name__}: {exc}"[:200])


async def _udp_query(query: dns.message.Message, server: str, port: int) -> dns.message.Message | str:
    """The response to ``query``, or why there is none (refused at once); the caller's
    timeout bounds the wait."""
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(lambda: _DnsOverUdp(query), remote_addr=(server, port))
    except ConnectionRefusedError:
        return "refused (ICMP port unreachable): nothing listens"
    try:
        return await protocol.done
    finally:
        transport.close()


def _kill_group(pid: int) -> None:
    # The command runs in its own session, so its pid is the group id: kill the children too,
    # or a shell wrapper would leave its `sleep` behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def probe_exec(check: HealthCheck) -> ProbeResult:
    assert isinstance(check, ExecCheck)
    proc = await asyncio.create_subprocess_exec(
        *check.command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        rc = await proc.wait()
    except BaseException:
        _kill_group(proc.pid)
        # SIGKILL cannot be ignored, so this wait ends at once; it reaps the zombie.
        with contextlib.suppress(ProcessLookupError):
            await asyncio.shield(proc.wait())
        raise
    # Children that outlive a successful parent would pile up at every interval.
    _kill_group(proc.pid)
    return ProbeResult(rc == 0, f"exit {rc}")


PROBES: dict[str, Probe] = {
    "tcp": probe_tcp,
    "http": probe_http,
    "dns": probe_dns,
    "exec": probe_exec,
}
"""The registry of probes by check ``kind``."""


async def run_probe(check: HealthCheck) -> ProbeResult:
    """Run the probe for ``check``, bounded by ``check.timeout``; never raises except on
    cancellation of the caller. A timeout or any error is a failed result."""
    probe = PROBES.get(check.kind)
    started = time.monotonic()
    if probe is None:
        return ProbeResult(False, f"no probe for check kind {check.kind!r}")
    try:
        async with asyncio.timeout(check.timeout):
            result = await probe(check)
    except TimeoutError:
        return ProbeResult(False, f"timed out after {check.timeout:g}s", time.monotonic() - started)
    except Exception as e:  # every error of the probed service is a failed probe
        return ProbeResult(False, f"{type(e).__name__}: {e}"[:200], time.monotonic() - started)
    return ProbeResult(result.ok, result.detail, time.monotonic() - started)
