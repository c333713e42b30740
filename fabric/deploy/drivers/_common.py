"""What every built-in driver shares: the SSH host-key check and credential-free errors."""

from __future__ import annotations

import os
import socket
import threading

import paramiko

from fabric.deploy.driver import Connection
from fabric.deploy.errors import ConnectError


def scrub(conn: Connection, text: str) -> str:
    """``text`` without the connection's password (every message a driver raises)."""
    if conn.password and len(conn.password) >= 3:
        text = text.replace(conn.password, "***")
    return text


def _lookup_names(host: str, port: int) -> list[str]:
    return [host] if port == 22 else [f"[{host}]:{port}", host]


_KNOWN: dict[str, tuple[bytes, paramiko.HostKeys]] = {}
_KNOWN_LOCK = threading.Lock()


def _known_hosts(path: str) -> paramiko.HostKeys:
    """``path`` parsed once per content: a rollout checks every device's key against the
    same file twice, and paramiko parses each line into a key object (taking the logging
    module's lock per line), which with hundreds of devices in parallel cost more than the
    SSH handshakes. The file is read every time, so a changed file is never missed."""
    with open(path, "rb") as f:
        data = f.read()
    with _KNOWN_LOCK:
        cached = _KNOWN.get(path)
        if cached is not None and cached[0] == data:
            return cached[1]
    known = paramiko.HostKeys()
    known.load(path)
    with _KNOWN_LOCK:
        _KNOWN[path] = (data, known)
    return known


def check_host_key(conn: Connection, port: int, name: str, key: paramiko.PKey | None = None) -> None:
    """Refuse unless ``host:port``'s SSH host key is in ``conn.known_hosts``.

    With ``key`` given (the key of an already open session) that key is checked; else a
    short SSH handshake (no authentication: nothing secret is sent) fetches it. Does nothing
    when host-key checking was turned off (``known_hosts is None``)."""
    if conn.known_hosts is None:
        return
    path = os.path.expanduser(conn.known_hosts)
    try:
        known = _known_hosts(path)
    except FileNotFoundError:
        raise ConnectError(
            f"{name}: host key of {conn.host}:{port} cannot be checked: known_hosts file {path} does not exist "
            "(add the device's key, or turn checking off explicitly with --no-host-key-check)"
        ) from None
    except (OSError, paramiko.SSHException) as e:
        raise ConnectError(f"{name}: cannot read known_hosts file {path}: {e}") from None
    if key is None:
        key = fetch_host_key(conn.host, port, conn.timeout, name)
    names = _lookup_names(conn.host, port)
    entries = [known.lookup(n) for n in names]
    stored = [e for e in entries if e]
    if not stored:
        raise ConnectError(
            f"{name}: host {names[0]} is not in known_hosts file {path} (its {key.get_name()} key fingerprint "
            f"is {key.fingerprint}); refusing to connect"
        )
    for entry in stored:
        same_type = entry.get(key.get_name())
        if same_type is not None and same_type == key:
            return
    raise ConnectError(
        f"{name}: HOST KEY MISMATCH for {names[0]}: the device presented a {key.get_name()} key that does not "
        f"match known_hosts file {path}; refusing to connect (someone may be intercepting the connection, or "
        "the device was replaced: verify and update known_hosts)"
    )


def fetch_host_key(host: str, port: int, timeout: float, name: str) -> paramiko.PKey:
    """The host key ``host:port`` presents in an SSH handshake (no login)."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        raise ConnectError(f"{name}: cannot reach {host}:{port}: {e.strerror or e}") from None
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except (paramiko.SSHException, OSError, EOFError) as e:
        raise ConnectError(f"{name}: SSH handshake with {host}:{port} failed: {e}") from None
    finally:
        transport.close()
        sock.close()
