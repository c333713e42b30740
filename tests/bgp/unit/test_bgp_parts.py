"""The small parts the agent is wired from: community syntax, the control socket (server
and client), the source registry, the atomic writer, config problems as data."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bgp import community, control
from bgp.config import validate_config
from bgp.configfile import ConfigError, Problem
from bgp.fileio import try_lock, write_atomic
from bgp.sources.registry import BUILTIN, SourceRegistry

# -- community syntax: one leaf module, used by config, guard rails, commands, k8s ---------------

GOOD = [("0:0", "0:0"), ("65535:65535", "65535:65535"), ("00065:01", "65:1")]
BAD = ["65536:1", "1:65536", "no-export", "1:2:3", "65000:1\nx", " 1:2", "1:", ":1", "", "-1:2"]


@pytest.mark.parametrize(("text", "normal"), GOOD)
def test_community_good(text: str, normal: str) -> None:
    assert community.parse_community(text) == normal


@pytest.mark.parametrize("text", BAD)
def test_community_bad(text: str) -> None:
    with pytest.raises(ValueError, match="is not a community"):
        community.parse_community(text)


@pytest.mark.parametrize(
    ("text", "ok"),
    [("4294967295:0:1", True), ("4294967296:0:1", False), ("1:2", False), ("1:2:3:4", False), ("a:b:c", False)],
)
def test_large_community(text: str, ok: bool) -> None:
    if ok:
        assert community.parse_large_community(text) == text
    else:
        with pytest.raises(ValueError, match="is not a large community"):
            community.parse_large_community(text)


def test_every_user_of_community_syntax_uses_the_leaf_module() -> None:
    """No other bgp module carries its own community pattern."""
    root = Path(__file__).resolve().parents[3] / "bgp"
    offenders = [
        str(p.relative_to(root)) for p in root.rglob("*.py")
        if p.name != "community.py" and "[0-9]{1,5}):" in p.read_text().replace("(", "")
    ]
    assert offenders == []
    defined = [str(p.relative_to(root)) for p in root.rglob("*.py") if 'GRACEFUL_SHUTDOWN = "65535:0"' in p.read_text()]
    assert defined == ["community.py"]


# -- control socket ------------------------------------------------------------------------------


class FakeAgent:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def status(self) -> dict[str, Any]:
        self.calls.append(("status", None))
        return {"ok": True, "announced": 3}

    def drain(self, delay: float | None = None) -> dict[str, Any]:
        self.calls.append(("drain", delay))
        return {"ok": True, "draining": True, "delay": delay}

    def undrain(self) -> dict[str, Any]:
        self.calls.append(("undrain", None))
        return {"ok": True, "draining": False}


ANSWERS = [
    (b'{"command": "status"}\n', {"ok": True, "announced": 3}, [("status", None)]),
    (b'{"command": "drain", "delay": 5}\n', {"ok": True, "draining": True, "delay": 5.0}, [("drain", 5.0)]),
    (b'{"command": "drain", "delay": null}\n', {"ok": True, "draining": True, "delay": None}, [("drain", None)]),
    (b'{"command": "undrain"}\n', {"ok": True, "draining": False}, [("undrain", None)]),
    (b'{"command": "reboot"}\n', {"ok": False, "error": "unknown command 'reboot'"}, []),
    (b"", {"ok": False, "error": "unknown command None"}, []),
]


@pytest.mark.parametrize(("raw", "expected", "calls"), ANSWERS)
def test_control_answer(raw: bytes, expected: dict[str, Any], calls: list[tuple[str, Any]]) -> None:
    agent = FakeAgent()
    assert control.answer(agent, raw) == expected
    assert agent.calls == calls


@pytest.mark.parametrize("raw", [b"not json\n", b"[1, 2]\n", b'{"command": "drain", "delay": "soon"}\n'])
def test_control_bad_request(raw: bytes) -> None:
    got = control.answer(FakeAgent(), raw)
    assert got["ok"] is False and got["error"].startswith("bad request: ")


def test_control_round_trip_over_the_socket(tmp_path: Path) -> None:
    agent = FakeAgent()

    async def main() -> tuple[dict[str, Any], int]:
        server = control.ControlServer(tmp_path, agent)
        await server.start()
        mode = stat.S_IMODE(os.stat(server.path).st_mode)
        try:
            got = await asyncio.to_thread(control.request, tmp_path, {"command": "drain", "delay": 2})
        finally:
            server.close()
        return got, mode

    got, mode = asyncio.run(main())
    assert got == {"ok": True, "draining": True, "delay": 2.0}
    assert mode == 0o600
    assert not control.control_socket_path(tmp_path).exists()
    with pytest.raises(OSError):
        control.request(tmp_path, {"command": "status"}, timeout=1)


def test_control_client_imports_no_heavy_module() -> None:
    """What `bgp-agent status` needs to talk to the agent costs no asyncio, pydantic or yaml."""
    code = "import sys, bgp.control; print(' '.join(m for m in ('asyncio', 'pydantic', 'yaml', 'bgp.agent') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ""


# -- source registry -----------------------------------------------------------------------------

BASE = {"asn": 65101, "router_id": "10.0.0.11", "peers": [{"address": "10.1.0.1", "asn": 65001}],
        "guard": {"allowed_ranges": ["192.0.2.0/24"]}}


def test_registry_builtin_order_and_selection(tmp_path: Path) -> None:
    assert BUILTIN.names() == ["static", "directory", "kubernetes"]
    assert BUILTIN.make_sources(validate_config(BASE)) == []
    cfg = validate_config({**BASE, "services": [{"name": "dns", "prefixes": ["192.0.2.53/32"]}],
                           "sources": {"directory": {"path": str(tmp_path)}}})
    assert [s.name for s in BUILTIN.make_sources(cfg)] == ["static", "directory"]


def test_registry_own_kind_and_duplicates() -> None:
    reg = SourceRegistry()
    reg.register("none", lambda cfg: None)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("none", lambda cfg: None)
    assert reg.make_sources(validate_config(BASE)) == []


# -- atomic writer, lock ---------------------------------------------------------------------------


def test_write_atomic_replaces_with_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text("old")
    write_atomic(target, "new", 0o600)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_write_atomic_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "\udcff")  # cannot be encoded: fails mid-write
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_try_lock_is_exclusive(tmp_path: Path) -> None:
    fd = try_lock(tmp_path / "lock")
    assert fd is not None
    try:
        code = f"import pathlib; from bgp.fileio import try_lock; print(try_lock(pathlib.Path('{tmp_path}/lock')))"
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert r.stdout.strip() == "None"
    finally:
        os.close(fd)


# -- problems as data --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (Problem("a.yaml", 3, "peers[0].asn", "bad"), "a.yaml:3: peers[0].asn: bad"),
        (Problem("a.yaml", 0, "peers[0].asn", "bad"), "a.yaml: peers[0].asn: bad"),
        (Problem("a.yaml", 0, "", "not UTF-8 text"), "a.yaml: not UTF-8 text"),
        (Problem("", 0, "state_dir", "bad"), "state_dir: bad"),
    ],
)
def test_problem_text(p: Problem, text: str) -> None:
    assert str(p) == text


def test_config_error_in_file_names_only_the_unnamed() -> None:
    e = ConfigError([Problem("", 0, "state_dir", "bad"), Problem("b.yaml", 2, "x", "y")]).in_file("a.yaml")
    assert e.lines() == ["a.yaml: state_dir: bad", "b.yaml:2: x: y"]
