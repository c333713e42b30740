"""The relay between ExaBGP's pipes and the agent's socket never deadlocks.

Both sides write megabytes without reading until their writes are done. A relay that
blocks on one direction stops reading the other and both writers hang (the deadlock seen
with ExaBGP reporting 10,000 sent routes while the agent was still sending commands)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

SIZE = 4 << 20


def test_relay_copies_both_ways_without_deadlock(tmp_path: Path) -> None:
    path = str(tmp_path / "api.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    relay = subprocess.Popen([sys.executable, "-m", "bgp.speaker.relay", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert relay.stdin is not None and relay.stdout is not None
    server.settimeout(10)
    agent, _ = server.accept()
    try:
        from_exabgp = b"e" * (SIZE - 1) + b"\n"
        from_agent = b"a" * (SIZE - 1) + b"\n"
        writers = [
            threading.Thread(target=lambda: (relay.stdin.write(from_exabgp), relay.stdin.flush()), daemon=True),  # type: ignore[union-attr]
            threading.Thread(target=lambda: agent.sendall(from_agent), daemon=True),
        ]
        for w in writers:
            w.start()
        for w in writers:
            w.join(10)
        assert not any(w.is_alive() for w in writers), "relay deadlocked: a writer is still blocked"

        got_agent = bytearray()
        agent.settimeout(10)
        while len(got_agent) < SIZE:
            got_agent += agent.recv(1 << 16)
        got_exabgp = relay.stdout.read(SIZE)
        assert bytes(got_agent) == from_exabgp
        assert got_exabgp == from_agent

        # ExaBGP closing our stdin ends the relay
        relay.stdin.close()
        assert relay.wait(5) == 0
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait()
        agent.close()
        server.close()


def test_relay_exits_when_the_agent_goes_away(tmp_path: Path) -> None:
    path = str(tmp_path / "api.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    relay = subprocess.Popen([sys.executable, "-m", "bgp.speaker.relay", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        server.settimeout(10)
        agent, _ = server.accept()
        agent.close()
        assert relay.wait(5) == 0
    finally:
        if relay.poll() is None:
            relay.kill()
        relay.wait()
        server.close()
