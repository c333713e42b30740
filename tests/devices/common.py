"""What both test devices share: faults, host keys, addresses and the SSH server plumbing.

Each device owns one listening socket and one thread that accepts on it; each accepted
SSH connection gets one thread (plus paramiko's transport thread) that serves its one
channel. Nothing is shared between devices, so a process can run hundreds of them.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

log = logging.getLogger(__name__)

__all__ = ["Faults", "HostKey", "SshServer", "free_loopback"]


@dataclass
class Faults:
    """What a device is told to do wrong. Change the fields at any time (thread-safe enough
    for tests: each field is read once per RPC).

    - ``refuse_commit``: a message; every commit is answered with that error.
    - ``drop_on_commit``: ``"before"`` closes the connection when a commit arrives (nothing
      is committed), ``"after"`` commits and then closes it without answering.
    - ``hold_lock``: someone else holds the configuration lock (lock and load fail).
    - ``latency``: seconds added before every answer (NETCONF RPC, NX-API request, CLI line).
    - ``reject_line``: a statement the device refuses; a Junos ``set`` path or an NX-OS
      config line (compared word by word, so ``protocols bgp group X`` refuses everything
      under it). Refused at load (Junos: ``syntax error``) or, with ``reject_at="commit"``,
      at commit (Junos: ``commit failed``); NX-OS refuses the line itself or the rollback
      that would add it (``Rollback failed.``).
    - ``lose_address_after_commit``: after the next commit (its answer is still sent) the
      device stops answering on its address until :meth:`restore_address` is called; its
      timers keep running (the confirmed-commit revert, the scheduled rollback).
    - ``sessions_down_after_commit``: after the next commit the device reports every BGP
      session as not established (a post-check failure), until cleared.
    """

    refuse_commit: str | None = None
    drop_on_commit: str | None = None
    hold_lock: bool = False
    latency: float = 0.0
    reject_line: str | None = None
    reject_at: str = "load"
    lose_address_after_commit: bool = False
    sessions_down_after_commit: bool = False

    def clear(self) -> None:
        fresh = Faults()
        for name in fresh.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))


@dataclass(frozen=True)
class HostKey:
    """The device's SSH host key and the forms clients need to check it."""

    key: paramiko.PKey

    @classmethod
    def generate(cls) -> HostKey:
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        return cls(paramiko.Ed25519Key.from_private_key(io.StringIO(pem.decode())))

    @property
    def name(self) -> str:
        """The key type, e.g. ``ssh-ed25519``."""
        return str(self.key.get_name())

    @property
    def base64(self) -> str:
        """The public key blob (ncclient's ``hostkey_b64``)."""
        return self.key.get_base64()

    @property
    def fingerprint(self) -> str:
        """SHA256 fingerprint as OpenSSH prints it."""
        return str(self.key.fingerprint)

    def known_hosts_line(self, host: str, port: int) -> str:
        """One line for an OpenSSH known_hosts file (``[host]:port`` unless port 22)."""
        where = host if port == 22 else f"[{host}]:{port}"
        return f"{where} {self.name} {self.base64}"


def free_loopback(port: int) -> str:
    """A 127.x.y.z address on which ``port`` is free (for devices that must use port 22,
    as napalm's nxos driver does for SCP)."""
    for _ in range(200):
        host = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                continue
            return host
    raise OSError(f"no free loopback address for port {port}")


@dataclass
class Reachability:
    """Whether the device answers on its address; sessions open while it did not are dead."""

    up: bool = True
    changed: threading.Condition = field(default_factory=threading.Condition)


class _Server(paramiko.ServerInterface):
    """Authentication and channel requests of one SSH connection."""

    def __init__(self, owner: SshServer) -> None:
        self.owner = owner
        self.request: tuple[str, str] | None = None
        self.requested = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        if username == self.owner.username and password == self.owner.password:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def _take(self, kind: str, arg: str) -> bool:
        if not self.owner.accepts(kind, arg):
            return False
        self.request = (kind, arg)
        self.requested.set()
        return True

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        return self._take("subsystem", name)

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        return self._take("exec", command.decode(errors="replace"))

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        return self._take("shell", "")

    def check_channel_pty_request(
        self,
        channel: paramiko.Channel,
        term: bytes,
        width: int,
        height: int,
        pixelwidth: int,
        pixelheight: int,
        modes: bytes,
    ) -> bool:
        return True


class SshServer:
    """An SSH server on one listening socket: password auth, one handled channel per
    connection. Subclasses say which requests they take (:meth:`accepts`) and serve them
    (:meth:`serve_channel`)."""

    def __init__(
        self,
        host: str,
        port: int,
        host_key: HostKey,
        username: str,
        password: str,
        reach: Reachability,
        latency: Callable[[], float],
    ) -> None:
        self.username = username
        self.password = password
        self.host_key = host_key
        self.reach = reach
        self.latency = latency
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(256)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._transports: set[paramiko.Transport] = set()
        self._mu = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, name=f"ssh-{self.port}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        with self.reach.changed:
            self.reach.changed.notify_all()
        with self._mu:
            transports = list(self._transports)
        for t in transports:
            t.close()
        if self._thread.is_alive():
            self._thread.join(5)
        self._sock.close()

    def drop_all(self) -> None:
        """Close every open connection (the sessions of a device that was unreachable)."""
        with self._mu:
            transports = list(self._transports)
        for t in transports:
            t.close()

    # -- subclass API
    def accepts(self, kind: str, arg: str) -> bool:
        raise NotImplementedError

    def serve_channel(self, chan: paramiko.Channel, kind: str, arg: str, transport: paramiko.Transport) -> None:
        raise NotImplementedError

    # -- plumbing
    def _accept_loop(self) -> None:
        held: list[socket.socket] = []  # accepted while the address was lost: never served
        while not self._stop.is_set():
            if not self.reach.up:
                with self.reach.changed:
                    self.reach.changed.wait(0.5)
                continue
            for sock in held:
                sock.close()
            held.clear()
            try:
                sock, _ = self._sock.accept()
            except OSError:
                continue
            if not self.reach.up:
                held.append(sock)
                continue
            threading.Thread(target=self._serve_conn, args=(sock,), name=f"ssh-{self.port}-conn", daemon=True).start()
        for sock in held:
            sock.close()

    def _serve_conn(self, sock: socket.socket) -> None:
        sock.settimeout(None)
        t = paramiko.Transport(sock)
        t.add_server_key(self.host_key.key)
        server = _Server(self)
        with self._mu:
            self._transports.add(t)
        try:
            try:
                t.start_server(server=server)
            except (paramiko.SSHException, EOFError, OSError):
                return
            chan = t.accept(30)
            if chan is None or not server.requested.wait(30) or server.request is None:
                return
            kind, arg = server.request
            with contextlib.suppress(Exception):
                self.serve_channel(chan, kind, arg, t)
            with contextlib.suppress(Exception):
                chan.close()
        finally:
            with self._mu:
                self._transports.discard(t)
            t.close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
