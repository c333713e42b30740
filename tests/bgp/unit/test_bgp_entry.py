"""``bgp-agent status/drain/undrain``: the fast path (bgp.entry) and the full CLI (click)
print the same and exit the same against a control socket served here; the fast path
imports no click, pydantic or asyncio; what it does not handle goes to the full CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bgp import control
from bgp.entry import FastCommand, parse_fast

ANSWERS: dict[str, dict[str, Any]] = {
    "status": {
        "ok": True,
        "announced": 1,
        "draining": False,
        "eor_sent": True,
        "exabgp_pid": 42,
        "peers": [{"name": "leaf1", "address": "10.0.0.1", "state": "up", "since": 0, "families": ["ipv4"]}],
        "prefixes": [{"prefix": "192.0.2.1/32", "service": "static/dns", "state": "announced", "check": None, "reason": ""}],
        "checks": {"dns": {"status": "up", "oks": 3, "fails": 0}},
        "sources": [],
        "refused_services": {},
    },
    "drain": {"ok": True, "draining": True, "delay": 5.0, "prefixes": 1},
    "undrain": {"ok": True, "draining": False},
}


@pytest.fixture
def agent_socket(tmp_path: Path) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """A control socket answering like an agent; yields the state dir and the requests seen."""
    requests: list[dict[str, Any]] = []
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(control.control_socket_path(tmp_path)))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                raw = conn.makefile("rb").readline()
                req = json.loads(raw)
                requests.append(req)
                conn.sendall(json.dumps(ANSWERS[req["command"]]).encode() + b"\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield tmp_path, requests
    stop.set()
    t.join()
    server.close()


def run(*argv: str, module: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys; sys.argv = ['bgp-agent', *sys.argv[1:]]; from {module} import main; main()"
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "argv",
    [["status", "--json"], ["status"], ["drain", "--delay", "5"], ["drain"], ["undrain"]],
    ids=["status-json", "status-text", "drain-delay", "drain", "undrain"],
)
def test_fast_path_prints_what_the_full_cli_prints(agent_socket: tuple[Path, list[dict[str, Any]]], argv: list[str]) -> None:
    state, requests = agent_socket
    args = [*argv, "--state-dir", str(state)]
    assert parse_fast(args) is not None
    fast = run(*args, module="bgp.entry")
    full = run(*args, module="bgp.cli")
    assert (fast.returncode, fast.stdout, fast.stderr) == (full.returncode, full.stdout, full.stderr)
    assert fast.returncode == 0 and fast.stdout
    assert requests[0] == requests[1]  # the same request too


def test_no_agent_is_exit_1_on_both_paths(tmp_path: Path) -> None:
    for module in ("bgp.entry", "bgp.cli"):
        r = run("status", "--state-dir", str(tmp_path), module=module)
        assert r.returncode == 1 and f"no running agent at {tmp_path}" in r.stderr


def test_fast_path_imports_only_what_it_needs(agent_socket: tuple[Path, list[dict[str, Any]]], tmp_path: Path) -> None:
    state, _ = agent_socket
    out = tmp_path / "modules.json"
    code = (
        "import json, sys\n"
        "from bgp import entry\n"
        f"rc = entry.run_fast(entry.parse_fast(['status', '--json', '--state-dir', {str(state)!r}]))\n"
        f"open({str(out)!r}, 'w').write(json.dumps(sorted(sys.modules)))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)
    modules = set(json.loads(out.read_text()))
    heavy = {m for m in modules if m.split(".")[0] in {"click", "pydantic", "asyncio", "yaml", "dns", "exabgp"}}
    assert not heavy, sorted(heavy)
    assert not {m for m in modules if m.startswith("bgp.") and m not in {"bgp.entry", "bgp.control"}}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["status"], FastCommand("status")),
        (["status", "--json", "--state-dir=/s"], FastCommand("status", Path("/s"), as_json=True)),
        (["drain", "--state-dir", "/s", "--delay", "2.5"], FastCommand("drain", Path("/s"), delay=2.5)),
        (["undrain", "--state-dir", ""], FastCommand("undrain")),
        (["status", "--config", "agent.yaml"], None),  # needs the config loader: full CLI
        (["status", "-c", "agent.yaml"], None),
        (["status", "--help"], None),
        (["drain", "--json"], None),  # not an option of drain: the full CLI says so
        (["drain", "--delay", "soon"], None),
        (["status", "--state-dir"], None),
        (["status", "--state-dir", "/a", "--state-dir", "/b"], None),
        (["run", "--config", "agent.yaml"], None),
        ([], None),
    ],
)
def test_parse_fast(argv: list[str], expected: FastCommand | None) -> None:
    assert parse_fast(argv) == expected


def test_everything_else_reaches_the_full_cli() -> None:
    r = run("drain", "--json", module="bgp.entry")
    assert r.returncode == 2 and "No such option '--json'" in r.stderr
    r = run("--help", module="bgp.entry")
    assert r.returncode == 0 and "check-config" in r.stdout
