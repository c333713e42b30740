"""ExaBGP's API process: relays ExaBGP's pipes to the agent's unix socket, nothing else.

ExaBGP starts this with ``run``; it connects to the socket named on the command line and
copies bytes both ways. It exits as soon as either side closes: when ExaBGP closes our
stdin (ExaBGP stopping), and when the agent goes away (ExaBGP, configured with
``api.terminate``, then stops too). Standard library only, so it starts fast.

Every descriptor is non-blocking and each direction has its own buffer, so the relay
always keeps reading both sides. A blocking relay deadlocks: ExaBGP blocks writing events
to a full pipe while the relay blocks writing commands to ExaBGP's full stdin (seen with
10,000 prefixes in flight).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import sys

_CHUNK = 1 << 16


def relay(sock_path: str) -> int:
    """Copy stdin -> socket and socket -> stdout until one side closes; returns 0."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sock_path)
    sock.setblocking(False)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    os.set_blocking(stdin, False)
    os.set_blocking(stdout, False)
    to_agent = bytearray()  # ExaBGP's output, not yet written to the agent
    to_exabgp = bytearray()  # the agent's commands, not yet written to ExaBGP
    sel = selectors.DefaultSelector()
    sel.register(stdin, selectors.EVENT_READ)
    sel.register(sock, selectors.EVENT_READ)
    sock_events = selectors.EVENT_READ
    stdout_watched = False
    while True:
        for key, events in sel.select():
            fd = key.fd
            if fd == stdin:
                try:
                    data = os.read(stdin, _CHUNK)
                except BlockingIOError:
                    continue
                if not data:
                    return 0
                to_agent += data
            elif fd == stdout:
                try:
                    n = os.write(stdout, to_exabgp)
                except BlockingIOError:
                    continue
                del to_exabgp[:n]
            else:
                if events & selectors.EVENT_READ:
                    try:
                        data = sock.recv(_CHUNK)
                    except BlockingIOError:
                        data = None
                    if data is not None:
                        if not data:
                            return 0
                        to_exabgp += data
                if events & selectors.EVENT_WRITE and to_agent:
                    try:
                        n = sock.send(to_agent)
                    except BlockingIOError:
                        n = 0
                    del to_agent[:n]
        # Opportunistic writes, then watch for writability only while something is pending.
        if to_agent:
            with contextlib.suppress(BlockingIOError):
                del to_agent[: sock.send(to_agent)]
        if to_exabgp:
            with contextlib.suppress(BlockingIOError):
                del to_exabgp[: os.write(stdout, to_exabgp)]
        want_sock = selectors.EVENT_READ | (selectors.EVENT_WRITE if to_agent else 0)
        if want_sock != sock_events:
            sel.modify(sock, want_sock)
            sock_events = want_sock
        if bool(to_exabgp) != stdout_watched:
            if to_exabgp:
                sel.register(stdout, selectors.EVENT_WRITE)
            else:
                sel.unregister(stdout)
            stdout_watched = bool(to_exabgp)


def main() -> int:
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m bgp.speaker.relay SOCKET\n")
        return 2
    try:
        return relay(sys.argv[1])
    except (BrokenPipeError, ConnectionError, OSError) as e:
        sys.stderr.write(f"bgp-agent relay: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
