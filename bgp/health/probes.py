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
from urllib.parse import urlsplit

import dns.asyncquery
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
    _, writer = await asyncio.open_connection(check.host, check.port)
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
        response = await dns.asyncquery.tcp(query, check.server, timeout=check.timeout, port=check.port)
    else:
        response = await dns.asyncquery.udp(query, check.server, timeout=check.timeout, port=check.port)
    rcode = dns.rcode.to_text(response.rcode())
    if rcode != check.expected_rcode:
        return ProbeResult(False, f"rcode {rcode}, expected {check.expected_rcode}")
    if check.require_answer and not any(rr.rdtype == rdtype for rr in response.answer):
        return ProbeResult(False, f"rcode {rcode} but no {check.qtype} record in the answer")
    return ProbeResult(True, f"rcode {rcode}, {sum(len(rr) for rr in response.answer)} answer records")


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
