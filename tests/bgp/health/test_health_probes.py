"""Probes and the monitor against real local servers on 127.0.0.1 (TCP, HTTP(S), DNS, exec)."""

from __future__ import annotations

import asyncio
import http.server
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from pydantic import TypeAdapter, ValidationError

from bgp.health import (
    CheckState,
    DnsCheck,
    ExecCheck,
    HealthCheck,
    HealthMonitor,
    HttpCheck,
    ProbeResult,
    Status,
    TcpCheck,
    Transition,
    run_probe,
)


def probe(check: HealthCheck) -> ProbeResult:
    return asyncio.run(run_probe(check))


# --- servers ----------------------------------------------------------------------------


@pytest.fixture
def tcp_listener() -> Iterator[int]:
    """A listening socket that never accepts: connect succeeds (kernel backlog)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield s.getsockname()[1]
    s.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = {"/ok": 200, "/fail": 503, "/redirect": 302}.get(self.path.split("?")[0], 404)
        if self.path == "/host":
            code = 200 if self.headers.get("Host") == "svc.example" else 421
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


def _serve(server: http.server.ThreadingHTTPServer) -> Iterator[int]:
    t = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_port() -> Iterator[int]:
    yield from _serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler))


@pytest.fixture
def https_port(tmp_path: Path) -> Iterator[int]:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts TCP connections and never says a word: a hung service."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        s.settimeout(0.1)
        while not stop.is_set():
            try:
                conns.append(s.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield s.getsockname()[1]
    stop.set()
    t.join()
    for c in conns:
        c.close()
    s.close()


class DnsResponder:
    """A tiny authoritative responder on 127.0.0.1/UDP: answers A for ``name``, NXDOMAIN for
    other names, REFUSED for ``refused.`` and stays silent while ``silent`` is set."""

    def __init__(self, name: str, address: str) -> None:
        self.name, self.address = name, address
        self.silent = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            self.queries += 1
            if self.silent:
                continue
            q = dns.message.from_wire(data)
            r = dns.message.make_response(q)
            r.flags |= dns.flags.AA
            qname = q.question[0].name.to_text()
            if qname == self.name:
                r.answer.append(dns.rrset.from_text(qname, 30, "IN", "A", self.address))
            elif qname == "refused.":
                r.set_rcode(dns.rcode.REFUSED)
            elif qname == "empty." + self.name:
                pass  # NOERROR, no data
            else:
                r.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(r.to_wire(), peer)

    def close(self) -> None:
        self._stop.set()
        self._t.join()
        self.sock.close()


@pytest.fixture
def dns_server() -> Iterator[DnsResponder]:
    d = DnsResponder("resolver.shownet.example.", "192.0.2.53")
    yield d
    d.close()


# --- tcp ----------------------------------------------------------------------------------


def test_tcp_connect_ok(tcp_listener: int) -> None:
    assert probe(TcpCheck(host="127.0.0.1", port=tcp_listener)).ok


def test_tcp_refused_is_failure() -> None:
    # a timeout far beyond the test's patience: only the refusal can end the probe
    r = probe(TcpCheck(host="127.0.0.1", port=free_port(), timeout=30, interval=30))
    assert not r.ok and "refused" in r.detail


# --- http -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected", "ok"),
    [
        ("/ok", [200], True),
        ("/fail", [200], False),
        ("/fail", [503], True),
        ("/redirect", [200, 302], True),
        ("/x", [200], False),
    ],
)
def test_http_status(http_port: int, path: str, expected: list[int], ok: bool) -> None:
    r = probe(HttpCheck(url=f"http://127.0.0.1:{http_port}{path}", expected_status=expected))
    assert r.ok is ok, r.detail


def test_http_host_header(http_port: int) -> None:
    url = f"http://127.0.0.1:{http_port}/host"
    assert probe(HttpCheck(url=url, host_header="svc.example")).ok
    assert not probe(HttpCheck(url=url)).ok


def test_https_verification(https_port: int) -> None:
    url = f"https://127.0.0.1:{https_port}/ok"
    r = probe(HttpCheck(url=url))
    assert not r.ok and "CERTIFICATE" in r.detail.upper()  # self-signed: refused by default
    assert probe(HttpCheck(url=url, verify_tls=False)).ok


def test_http_hang_is_bounded_failure(silent_port: int) -> None:
    started = time.monotonic()
    r = probe(HttpCheck(url=f"http://127.0.0.1:{silent_port}/ok", timeout=0.3, interval=1))
    assert not r.ok and "timed out" in r.detail
    assert time.monotonic() - started < 2


# --- dns ------------------------------------------------------------------------------------


def dns_check(server: DnsResponder, **kw: object) -> DnsCheck:
    args: dict[str, object] = {"server": "127.0.0.1", "port": server.port, "qname": server.name, "timeout": 0.5, "interval": 1}
    args.update(kw)
    return DnsCheck.model_validate(args)


def test_dns_answer_ok(dns_server: DnsResponder) -> None:
    r = probe(dns_check(dns_server))
    assert r.ok, r.detail


@pytest.mark.parametrize(
    ("qname", "rcode", "require_answer", "ok"),
    [
        ("nope.example.", "NOERROR", True, False),
        ("nope.example.", "NXDOMAIN", True, False),  # NXDOMAIN has no A record
        ("nope.example.", "NXDOMAIN", False, True),
        ("refused.", "NOERROR", False, False),
        ("empty.resolver.shownet.example.", "NOERROR", True, False),
        ("empty.resolver.shownet.example.", "NOERROR", False, True),
    ],
)
def test_dns_rcode_and_answer(dns_server: DnsResponder, qname: str, rcode: str, require_answer: bool, ok: bool) -> None:
    r = probe(dns_check(dns_server, qname=qname, expected_rcode=rcode, require_answer=require_answer))
    assert r.ok is ok, r.detail


def test_dns_wrong_type_is_failure(dns_server: DnsResponder) -> None:
    assert not probe(dns_check(dns_server, qtype="AAAA")).ok


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_dns_nothing_listening_is_refused_not_timed_out(transport: str) -> None:
    """A dead resolver: the kernel answers a UDP query with ICMP port unreachable, a TCP one
    with a RST. Either is a failure at once (a 30 s timeout would otherwise end the probe)."""
    port = free_udp_port() if transport == "udp" else free_port()
    check = DnsCheck(server="127.0.0.1", port=port, qname="x.example.", transport=transport, timeout=30, interval=30)
    r = probe(check)
    assert not r.ok and "refused" in r.detail and "timed out" not in r.detail, r.detail


def test_dns_ignores_datagrams_that_are_not_the_answer(dns_server: DnsResponder) -> None:
    """An answer with another query id is not taken for the answer (spoofing, a late reply)."""
    check = dns_check(dns_server, timeout=0.5)

    async def go() -> ProbeResult:
        from bgp.health import probes

        query = dns.message.make_query(check.qname, "A")
        other = dns.message.make_query(check.qname, "A")
        other.id = (query.id + 1) % 65536
        proto = probes._DnsOverUdp(query)
        proto.datagram_received(dns.message.make_response(other).to_wire(), ("127.0.0.1", dns_server.port))
        proto.datagram_received(b"garbage", ("127.0.0.1", dns_server.port))
        assert not proto.done.done()
        return await run_probe(check)

    assert asyncio.run(go()).ok


def test_dns_silent_server_times_out(dns_server: DnsResponder) -> None:
    dns_server.silent = True
    r = probe(dns_check(dns_server, timeout=0.3))
    assert not r.ok and dns_server.queries >= 1


# --- exec -----------------------------------------------------------------------------------


def test_exec_exit_codes() -> None:
    assert probe(ExecCheck(command=["/bin/true"])).ok
    r = probe(ExecCheck(command=["/bin/false"]))
    assert not r.ok and r.detail == "exit 1"


def test_exec_missing_binary_is_failure(tmp_path: Path) -> None:
    assert not probe(ExecCheck(command=[str(tmp_path / "missing")])).ok


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is dead for our purpose
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[1].split()[0] != "Z"


def test_exec_hang_is_killed_with_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    # the shell starts a background sleep (a grandchild) and waits: both must be killed
    cmd = ["/bin/sh", "-c", f"/bin/sleep 60 & echo $! > {pidfile}; wait"]
    r = probe(ExecCheck(command=cmd, timeout=0.5, interval=1))
    assert not r.ok and "timed out" in r.detail
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child)


def test_exec_sleep_within_timeout_ok() -> None:
    assert probe(ExecCheck(command=["/bin/sleep", "0.1"], timeout=1, interval=1)).ok


# --- config validation ----------------------------------------------------------------------

adapter: TypeAdapter[HealthCheck] = TypeAdapter(HealthCheck)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "tcp", "host": "h", "port": 0}, "greater than or equal to 1"),
        ({"kind": "tcp", "host": "h", "port": 1, "timeout": 5, "interval": 1}, "must not exceed interval"),
        ({"kind": "http", "url": "ftp://x/"}, "http:// or https://"),
        ({"kind": "http", "url": "http://x/\r\nX: y"}, "control characters"),
        ({"kind": "http", "url": "http://x/", "expected_status": [999]}, "not HTTP status codes"),
        ({"kind": "dns", "server": "s", "qname": "a.", "qtype": "BOGUS"}, "unknown DNS type"),
        ({"kind": "dns", "server": "s", "qname": "a.", "expected_rcode": "MAYBE"}, "unknown DNS rcode"),
        ({"kind": "exec", "command": []}, "at least 1 item"),
        ({"kind": "tcp", "host": "h", "port": 1, "rize": 2}, "Extra inputs are not permitted"),
        ({"kind": "ping", "host": "h"}, "does not match any of the expected tags"),
    ],
)
def test_config_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        adapter.validate_python(data)


@pytest.mark.parametrize(("value", "seconds"), [(2, 2.0), (0.5, 0.5), ("500ms", 0.5), ("2s", 2.0), ("1m", 60.0), ("1.5", 1.5)])
def test_config_durations(value: object, seconds: float) -> None:
    c = adapter.validate_python({"kind": "tcp", "host": "h", "port": 1, "interval": value, "timeout": "10ms"})
    assert c.interval == seconds and c.timeout == 0.01


@pytest.mark.parametrize("value", ["5 parsecs", "-1s", "", True])
def test_config_bad_durations(value: object) -> None:
    with pytest.raises(ValidationError):
        adapter.validate_python({"kind": "tcp", "host": "h", "port": 1, "interval": value, "timeout": 0.001})


def test_config_kind_dispatch() -> None:
    c = adapter.validate_python({"kind": "dns", "server": "::1", "qname": "x.", "qtype": "aaaa", "rise": 1})
    assert isinstance(c, DnsCheck) and c.qtype == "AAAA" and c.rise == 1 and c.fall == 3


# --- monitor --------------------------------------------------------------------------------


def test_monitor_reports_transitions_and_follows_the_service(tmp_path: Path) -> None:
    flag = tmp_path / "healthy"
    flag.touch()
    check = ExecCheck(command=["/usr/bin/test", "-e", str(flag)], interval=0.05, timeout=0.05, rise=2, fall=2)
    seen: list[tuple[str, Status, Status]] = []

    async def on_change(name: str, t: Transition) -> None:
        seen.append((name, t.old, t.new))

    async def wait_for(m: HealthMonitor, status: Status) -> None:
        async with asyncio.timeout(5):
            while m.state("svc").status is not status:
                await asyncio.sleep(0.01)

    async def scenario() -> None:
        m = HealthMonitor({"svc": check}, on_change=on_change)
        assert m.state("svc") == CheckState() and not m.healthy("svc")
        task = asyncio.create_task(m.run())
        await wait_for(m, Status.UP)
        assert m.healthy("svc")
        flag.unlink()
        await wait_for(m, Status.DOWN)
        flag.touch()
        await wait_for(m, Status.UP)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    U, UP, DN = Status.UNKNOWN, Status.UP, Status.DOWN
    assert seen == [("svc", U, UP), ("svc", UP, DN), ("svc", DN, UP)]


def test_monitor_hanging_check_does_not_block_others() -> None:
    hang = ExecCheck(command=["/bin/sleep", "60"], interval=0.2, timeout=0.1, rise=1, fall=1)
    ok = ExecCheck(command=["/bin/true"], interval=0.05, timeout=0.05, rise=1, fall=1)
    calls: list[str] = []

    def on_change(name: str, t: Transition) -> None:  # a plain (non-async) callback works too
        calls.append(f"{name}:{t.new.value}")
        if name == "ok":
            raise RuntimeError("callback errors are logged, never fatal")

    async def scenario() -> dict[str, CheckState]:
        m = HealthMonitor({"hang": hang, "ok": ok}, on_change=on_change)
        task = asyncio.create_task(m.run())
        async with asyncio.timeout(5):
            while not (m.healthy("ok") and m.state("hang").status is Status.DOWN):
                await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return m.states()

    states = asyncio.run(scenario())
    assert states["hang"].status is Status.DOWN and states["ok"].status is Status.UP
    assert sorted(calls) == ["hang:down", "ok:up"]


def test_monitor_update_keeps_unchanged_state() -> None:
    a = ExecCheck(command=["/bin/true"], rise=1)
    b = ExecCheck(command=["/bin/false"], fall=1)

    async def scenario() -> HealthMonitor:
        m = HealthMonitor({"a": a, "b": b})
        await m.feed("a", ProbeResult(True))
        m.update({"a": a, "c": b})
        return m

    m = asyncio.run(scenario())
    assert m.healthy("a") and m.state("c").status is Status.UNKNOWN
    assert set(m.states()) == {"a", "c"}
    with pytest.raises(KeyError):
        m.state("b")
