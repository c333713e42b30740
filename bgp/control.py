"""The control socket: the running agent's server and the client ``bgp-agent`` uses, side by side.

Protocol: a client connects to ``<state_dir>/control.sock`` (mode 0600), writes one JSON
object and a newline (``{"command": "status"}``, ``{"command": "drain", "delay": 5}``,
``{"command": "undrain"}``) and reads one JSON object and a newline back; every answer
carries ``ok``. Unknown commands and malformed requests get ``{"ok": false, "error": ...}``.

The client half (:func:`request` and the texts the commands print) imports only the
standard library's json/socket, so a ``bgp-agent status`` process (:mod:`bgp.entry`) does
not pay for click, asyncio, pydantic or the agent; the server half imports asyncio when it
starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import asyncio

CONTROL_SOCKET = "control.sock"
READ_TIMEOUT = 5.0
DEFAULT_STATE_DIR = Path("/run/bgp-agent")


def control_socket_path(state_dir: Path) -> Path:
    """Where ``bgp-agent drain/undrain/status`` find the running agent."""
    return state_dir / CONTROL_SOCKET


# -- client ---------------------------------------------------------------------------------


def request(state_dir: Path, payload: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """One request/answer exchange with the running agent; OSError when no agent listens,
    ValueError when the answer is not JSON."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(control_socket_path(state_dir)))
        s.sendall(json.dumps(payload).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
    answer: dict[str, Any] = json.loads(buf)
    return answer


def drain_text(answer: dict[str, Any]) -> str:
    """What ``bgp-agent drain`` prints for the agent's answer."""
    return f"draining {answer.get('prefixes', 0)} prefixes; withdrawal in {answer.get('delay')} s"


UNDRAIN_TEXT = "undrained"
"""What ``bgp-agent undrain`` prints."""


def status_text(answer: dict[str, Any], now: float) -> str:
    """What ``bgp-agent status`` prints (without ``--json``) for the agent's answer."""
    out = []
    flags = []
    if answer.get("draining"):
        flags.append("DRAINING" + (" (withdrawn)" if answer.get("drain_withdrawn") else ""))
    if not answer.get("eor_sent"):
        flags.append("end-of-RIB not sent yet")
    failed = answer.get("failed", 0)
    if failed:
        flags.append(f"{failed} prefixes failed")
    out.append(
        f"bgp-agent: {answer.get('announced', 0)} announced, exabgp pid {answer.get('exabgp_pid')}"
        + (f" [{', '.join(flags)}]" if flags else "")
    )
    out.append("\nPEER                 ADDRESS                                  STATE        SINCE")
    for p in answer.get("peers", []):
        since = f"{now - p['since']:.0f}s" if p.get("since") else "-"
        out.append(f"{p['name']:<20} {p['address']:<40} {p['state']:<12} {since}")
    out.append("\nPREFIX                                     STATE                SERVICE / REASON")
    for x in answer.get("prefixes", []):
        why = x["service"] + (f" ({x['reason']})" if x.get("reason") else "")
        out.append(f"{x['prefix']:<42} {x['state']:<20} {why}")
    checks = answer.get("checks", {})
    if checks:
        out.append("\nCHECK                STATUS")
        for name, st in sorted(checks.items()):
            out.append(f"{name:<20} {st['status']}")
    for s in answer.get("sources", []):
        if s.get("stale") or s.get("last_error"):
            out.append(f"\nsource {s['name']}: stale={s['stale']} errors={s['sync_errors']} last error: {s['last_error']}")
        rejected = s.get("detail", {}).get("rejected")
        if rejected:
            out.append(f"\nsource {s['name']} refused: {rejected}")
    for key, reason in sorted(answer.get("refused_services", {}).items()):
        out.append(f"refused service {key!r}: {reason}")
    return "\n".join(out)


def status_json(answer: dict[str, Any]) -> str:
    """What ``bgp-agent status --json`` prints."""
    return json.dumps(answer, indent=2, sort_keys=True)


# -- server ---------------------------------------------------------------------------------


class Controlled(Protocol):
    """What the control socket drives (the agent)."""

    def status(self) -> dict[str, Any]: ...

    def drain(self, delay: float | None = None) -> dict[str, Any]: ...

    def undrain(self) -> dict[str, Any]: ...


def answer(target: Controlled, raw: bytes) -> dict[str, Any]:
    """The answer to one request line. Pure dispatch, never raises."""
    try:
        req = json.loads(raw or b"{}")
        cmd = req.get("command")
        if cmd == "status":
            return target.status()
        if cmd == "drain":
            delay = req.get("delay")
            return target.drain(float(delay) if delay is not None else None)
        if cmd == "undrain":
            return target.undrain()
        return {"ok": False, "error": f"unknown command {cmd!r}"}
    except (ValueError, TypeError, AttributeError) as e:
        return {"ok": False, "error": f"bad request: {e}"}


class ControlServer:
    """Serves :func:`answer` on the control socket of ``state_dir``."""

    def __init__(self, state_dir: Path, target: Controlled) -> None:
        self.path = control_socket_path(state_dir)
        self._target = target
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen (replacing a stale socket file of a previous run)."""
        import asyncio  # here, not at the top: the client half must stay light

        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        os.chmod(self.path, 0o600)

    def close(self) -> None:
        """Stop listening and remove the socket file."""
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import asyncio

        try:
            raw = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
            writer.write(json.dumps(answer(self._target, raw)).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
