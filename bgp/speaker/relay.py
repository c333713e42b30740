"""ExaBGP's API process: relays ExaBGP's pipes to the agent's unix socket, nothing else.

ExaBGP starts this with ``run``; it connects to the socket named on the command line and
copies bytes both ways. It exits as soon as either side closes: when ExaBGP closes our
stdin (ExaBGP stopping), and when the agent goes away (ExaBGP, configured with
``api.terminate``, then stops too). Standard library only, so it starts fast.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys


def relay(sock_path: str) -> int:
    """Copy stdin -> socket and socket -> stdout until one side closes; returns 0."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sock_path)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    sel = selectors.DefaultSelector()
    sel.register(stdin, selectors.EVENT_READ, "in")
    sel.register(sock, selectors.EVENT_READ, "sock")
    while True:
        for key, _ in sel.select():
            if key.data == "in":
                data = os.read(stdin, 1 << 16)
                if not data:
                    return 0
                sock.sendall(data)
            else:
                data = sock.recv(1 << 16)
                if not data:
                    return 0
                view = memoryview(data)
                while view:
                    n = os.write(stdout, view)
                    view = view[n:]


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
