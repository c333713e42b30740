"""A Junos test device: NETCONF over SSH with real candidate and running configurations.

It speaks what ``../shared/reference/push-protocols.md`` lists for napalm's ``junos`` driver
(PyEZ) and for ncclient (Junos and plain): base:1.0 (``]]>]]>``) and base:1.1 (chunked)
framing, the Junos RPCs (``lock-configuration``, ``load-configuration``,
``get-configuration`` with ``compare``, ``commit-configuration`` with ``confirmed``, ...)
and the standard ones (``lock``, ``edit-config``, ``validate``, ``commit``,
``discard-changes``, ``get-config``, ``close-session``). RPCs are matched by local name.

Usage::

    with JunosDevice(config=text) as dev:
        dev.host, dev.port, dev.username, dev.password, dev.host_key.known_hosts_line(...)
        dev.running_text()          # the committed configuration, curly-brace text
        dev.faults.refuse_commit = "commit failed: test"

Device time: ``minute`` is how many real seconds one device minute lasts (confirm
timeouts and ``rollback in N`` are in minutes on Junos), so a test can let a
``commit confirmed 1`` expire in a second.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address
from types import TracebackType
from typing import Any

import paramiko
from lxml import etree

from tests.devices import junos_config as jc
from tests.devices.common import Faults, HostKey, Reachability, SshServer
from tests.devices.network import Network, RibEntry, View, junos_view, rib

__all__ = ["JunosDevice", "Revision"]

NS_BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
JUNOS_NS = "http://xml.juniper.net/junos/23.4R1/junos"
EOM = b"]]>]]>"
CAPABILITIES = [
    "urn:ietf:params:netconf:base:1.0",
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:netconf:capability:validate:1.0",
    "urn:ietf:params:netconf:capability:url:1.0?scheme=http,ftp,file",
    "urn:ietf:params:xml:ns:netconf:base:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:candidate:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:validate:1.0",
    "http://xml.juniper.net/netconf/junos/1.0",
    "http://xml.juniper.net/dmi/system/1.0",
]
BASE11 = "urn:ietf:params:netconf:base:1.1"
HISTORY = 50
_session_ids = itertools.count(1000)


class RpcError(Exception):
    """An ``<rpc-error>`` answer."""

    def __init__(self, message: str, tag: str = "operation-failed", kind: str = "application", extra: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.tag = tag
        self.kind = kind
        self.extra = extra

    def xml(self) -> str:
        return (
            f"<rpc-error><error-type>{self.kind}</error-type><error-tag>{self.tag}</error-tag>"
            f"<error-severity>error</error-severity>{self.extra}"
            f"<error-message>{_esc(self.message)}</error-message></rpc-error>"
        )


class _Drop(Exception):
    """Close the connection without answering."""


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next((k for k in el if _local(k) == name), None)


@dataclass
class Revision:
    """One committed configuration (``rollback N`` is ``history[N]``)."""

    tree: jc.Node
    seconds: int
    number: int
    user: str
    client: str
    comment: str = ""

    @property
    def revision(self) -> str:
        return f"re0-{self.seconds}-{self.number}"


class _Session:
    def __init__(self, dev: JunosDevice, chan: paramiko.Channel, transport: paramiko.Transport) -> None:
        self.dev = dev
        self.chan = chan
        self.transport = transport
        self.id = next(_session_ids)
        self.chunked = False
        self.buf = b""
        self.private: jc.Node | None = None
        self.open = True

    # -- framing
    def send(self, text: str) -> None:
        data = text.encode()
        if self.chunked:
            self.chan.sendall(b"\n#%d\n" % len(data) + data + b"\n##\n")
        else:
            self.chan.sendall(data + EOM + b"\n")

    def _fill(self) -> bool:
        data = self.chan.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def recv(self) -> str | None:
        if not self.chunked:
            while EOM not in self.buf:
                if not self._fill():
                    return None
            msg, _, self.buf = self.buf.partition(EOM)
            return msg.decode()
        parts: list[bytes] = []
        while True:
            while b"\n" not in self.buf[1:] or len(self.buf) < 4:
                if not self._fill():
                    return None
            if not self.buf.startswith(b"\n#"):
                raise RpcError("malformed chunk", "malformed-message", "rpc")
            nl = self.buf.index(b"\n", 2)
            head = self.buf[2:nl]
            if head == b"#":
                self.buf = self.buf[nl + 1 :]
                return b"".join(parts).decode()
            size = int(head)
            while len(self.buf) < nl + 1 + size:
                if not self._fill():
                    return None
            parts.append(self.buf[nl + 1 : nl + 1 + size])
            self.buf = self.buf[nl + 1 + size :]

    # -- the session
    def run(self, base11: bool) -> None:
        caps = [*CAPABILITIES, BASE11] if base11 else CAPABILITIES
        hello = (
            f'<hello xmlns="{NS_BASE}"><capabilities>'
            + "".join(f"<capability>{c}</capability>" for c in caps)
            + f"</capabilities><session-id>{self.id}</session-id></hello>"
        )
        self.send(hello)
        client = self.recv()
        if client is None:
            return
        if base11 and BASE11 in client:
            self.chunked = True
        while self.open:
            msg = self.recv()
            if msg is None:
                return
            if not self.dev.reach.up:
                continue  # the device lost its address: nothing answers
            delay = self.dev.faults.latency
            if delay:
                time.sleep(delay)
            try:
                reply = self.handle(msg)
            except _Drop:
                self.transport.close()
                return
            if not self.dev.lose_now() and not self.dev.reach.up:
                continue
            self.send(reply)

    def handle(self, msg: str) -> str:
        try:
            rpc = etree.fromstring(msg.encode())
        except etree.XMLSyntaxError as e:
            return self.reply("", RpcError(f"syntax error: {e}", "malformed-message", "rpc").xml())
        attrs = "".join(
            f' {k}="{_esc(str(v))}"' for k, v in rpc.attrib.items() if not str(k).startswith("{")
        )
        op = next((k for k in rpc if isinstance(k.tag, str)), None)
        if _local(rpc) != "rpc" or op is None:
            return self.reply(attrs, RpcError("syntax error, expecting <rpc>", "operation-not-supported", "rpc").xml())
        name = _local(op)
        handler = getattr(self.dev, "rpc_" + name.replace("-", "_"), None)
        if handler is None:
            err = RpcError(
                f"syntax error, expecting <rpc> content: {name} is not supported by this test device",
                "operation-not-supported",
                "protocol",
                f"<error-info><bad-element>{_esc(name)}</bad-element></error-info>",
            )
            return self.reply(attrs, err.xml())
        try:
            body = handler(self, op)
        except RpcError as e:
            body = e.xml()
        return self.reply(attrs, body)

    def reply(self, attrs: str, body: str) -> str:
        return f'<rpc-reply xmlns="{NS_BASE}" xmlns:junos="{JUNOS_NS}"{attrs}>{body}</rpc-reply>'


class _NetconfServer(SshServer):
    def __init__(self, dev: JunosDevice, host: str, port: int) -> None:
        super().__init__(host, port, dev.host_key, dev.username, dev.password, dev.reach, lambda: dev.faults.latency)
        self.dev = dev

    def accepts(self, kind: str, arg: str) -> bool:
        if kind == "subsystem":
            return arg == "netconf"
        if kind == "exec":
            return arg.strip().startswith("xml-mode netconf")
        return False

    def serve_channel(self, chan: paramiko.Channel, kind: str, arg: str, transport: paramiko.Transport) -> None:
        session = _Session(self.dev, chan, transport)
        with self.dev.mu:
            self.dev.sessions[session.id] = session
        try:
            session.run(self.dev.base11 and kind == "subsystem")
        finally:
            self.dev.session_ended(session)


class JunosDevice:
    """One Junos test device on its own listening socket (see the module docstring).

    ``config`` is the initial configuration (curly text, ``set`` lines or XML), committed as
    ``rollback 0``. ``base11=False`` advertises only base:1.0 (``]]>]]>`` framing)."""

    def __init__(
        self,
        config: str = "",
        *,
        hostname: str = "vqfx",
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "admin",
        password: str = "admin-secret",
        host_key: HostKey | None = None,
        base11: bool = True,
        minute: float = 60.0,
        model: str = "qfx5120-48y-8c",
        version: str = "23.4R1.9",
        network: Network | None = None,
    ) -> None:
        self.network = network
        self._view: tuple[jc.Node, View] | None = None
        self.username = username
        self.password = password
        self.hostname = hostname
        self.model = model
        self.version = version
        self.host_key = host_key or HostKey.generate()
        self.base11 = base11
        self.minute = minute
        self.faults = Faults()
        self.reach = Reachability()
        self.mu = threading.RLock()
        self.sessions: dict[int, _Session] = {}
        self.lock_owner: int | None = None
        self.booted = time.time()
        self._numbers = itertools.count(1)
        tree = _load_any(config) if config.strip() else jc.root()
        # Trees are never changed in place once made (a load works on a copy), so the
        # candidate, the revisions and a pending revert may share them.
        self.history: list[Revision] = [self._revision(tree, "", client="cli")]
        self.candidate = tree
        self._confirm: threading.Timer | None = None
        self._confirm_deadline: float | None = None
        self._revert_to = tree
        self._lose_after_reply = False
        self._stale: list[_Session] = []
        self.sessions_down = False
        self.commits = 0
        self.rpcs: list[str] = []
        self._server = _NetconfServer(self, host, port)
        self.host, self.port = self._server.host, self._server.port

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> JunosDevice:
        self._server.start()
        if self.network is not None:
            self.network.join(self)
        return self

    def stop(self) -> None:
        with self.mu:
            if self._confirm is not None:
                self._confirm.cancel()
                self._confirm = None
        if self.network is not None:
            self.network.leave(self)
        self.reach.up = True
        self._server.stop()

    def __enter__(self) -> JunosDevice:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------ test handle
    @property
    def running(self) -> jc.Node:
        return self.history[0].tree

    def view(self) -> View:
        """What the network derives state from (computed once per committed tree; takes no
        lock, so members may ask each other while answering)."""
        tree = self.history[0].tree
        cached = self._view
        if cached is None or cached[0] is not tree:
            cached = (tree, junos_view(tree))
            self._view = cached
        return cached[1]

    def running_text(self) -> str:
        with self.mu:
            return jc.to_text(self.running)

    def running_set(self) -> str:
        with self.mu:
            return jc.to_set(self.running)

    def candidate_text(self) -> str:
        with self.mu:
            return jc.to_text(self.candidate)

    def known_hosts_line(self) -> str:
        return self.host_key.known_hosts_line(self.host, self.port)

    @property
    def pending_confirm(self) -> bool:
        """Whether a ``commit confirmed`` waits for its confirmation."""
        return self._confirm is not None

    def lose_address(self) -> None:
        """Stop answering on the address (sessions go silent, new connections hang)."""
        with self.mu:
            self.reach.up = False
            self._stale = list(self.sessions.values())

    def restore_address(self) -> None:
        """Answer again; the sessions that were open while unreachable are closed."""
        self.reach.up = True
        with self.reach.changed:
            self.reach.changed.notify_all()
        self._server.drop_all()

    def set_config(self, config: str) -> None:
        """Commit ``config`` as the device's running configuration (as an operator would)."""
        with self.mu:
            tree = _load_any(config)
            self._commit_tree(tree, "", "cli")
            self.candidate = tree

    # ------------------------------------------------------------------ internals
    def _revision(self, tree: jc.Node, comment: str, client: str = "netconf") -> Revision:
        return Revision(tree, int(time.time()), next(self._numbers), self.username, client, comment)

    def _commit_tree(self, tree: jc.Node, comment: str, client: str = "netconf") -> None:
        self.history.insert(0, self._revision(tree, comment, client))
        del self.history[HISTORY:]
        self.commits += 1

    def session_ended(self, session: _Session) -> None:
        with self.mu:
            self.sessions.pop(session.id, None)
            if self.lock_owner == session.id:
                # Junos: the changes of a session that held the lock are discarded with it
                self.lock_owner = None
                self.candidate = self.running

    def lose_now(self) -> bool:
        """After a commit with ``lose_address_after_commit``: lose the address now (the
        answer to the commit is still sent). True if it happened."""
        if self._lose_after_reply:
            self._lose_after_reply = False
            self.lose_address()
            return True
        return False

    def _target(self, s: _Session) -> jc.Node:
        return s.private if s.private is not None else self.candidate

    def _check_lock(self, s: _Session) -> None:
        held = self.faults.hold_lock or (self.lock_owner is not None and self.lock_owner != s.id)
        if held and s.private is None:
            raise RpcError(self._lock_message(), "lock-denied", "protocol")

    def _lock_message(self) -> str:
        who = "netops" if self.faults.hold_lock else self.username
        since = _ts(self.booted)
        return f"configuration database locked by:\n  {who} terminal pts/1 (pid 4242) on since {since}\n      exclusive [edit]"

    def _rejected(self, tree: jc.Node) -> str | None:
        bad = self.faults.reject_line
        if not bad:
            return None
        want = bad.split()
        if want and want[0] == "set":
            want = want[1:]
        for line in jc.set_lines(tree):
            words = line.split()[1:]
            if words[: len(want)] == want:
                return line
        return None

    def _changed(self, s: _Session) -> bool:
        return not self._target(s).same(self.running)

    # ------------------------------------------------------------------ RPCs
    def rpc_lock_configuration(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            self.rpcs.append("lock-configuration")
            self._lock(s)
        return "<ok/>"

    def rpc_lock(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            self.rpcs.append("lock")
            self._lock(s)
        return "<ok/>"

    def _lock(self, s: _Session) -> None:
        if self.faults.hold_lock or (self.lock_owner is not None and self.lock_owner != s.id):
            extra = "<error-info><session-id>4242</session-id></error-info>"
            raise RpcError(self._lock_message(), "lock-denied", "protocol", extra)
        if self.lock_owner is None and not self.candidate.same(self.running):
            raise RpcError("configuration database modified", "lock-denied", "protocol")
        self.lock_owner = s.id

    def rpc_unlock_configuration(self, s: _Session, op: etree._Element) -> str:
        return self.rpc_unlock(s, op)

    def rpc_unlock(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            self.rpcs.append("unlock")
            if self.lock_owner == s.id:
                self.lock_owner = None
            elif self.lock_owner is not None or self.faults.hold_lock:
                raise RpcError("configuration database locked by another session", "lock-denied", "protocol")
        return "<ok/>"

    def rpc_open_configuration(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            if _child(op, "private") is None:
                raise RpcError("only <private/> is supported by this test device")
            s.private = self.running
        return "<ok/>"

    def rpc_close_configuration(self, s: _Session, op: etree._Element) -> str:
        s.private = None
        return "<ok/>"

    def rpc_load_configuration(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            self.rpcs.append("load-configuration")
            self._check_lock(s)
            rollback = op.get("rollback")
            if rollback is not None:
                n = int(rollback)
                if not 0 <= n < len(self.history):
                    raise RpcError(f"rollback {n} does not exist")
                self._set_target(s, self.history[n].tree)
                return "<load-configuration-results><ok/></load-configuration-results>"
            action = op.get("action", "merge")
            fmt = op.get("format", "xml")
            body = next((k for k in op if isinstance(k.tag, str)), None)
            if body is None:
                if op.get("url"):
                    raise RpcError("load from url is not supported by this test device")
                return "<load-configuration-results><ok/></load-configuration-results>"
            kind = _local(body)
            target = self._target(s)
            try:
                if kind == "configuration-set" or action == "set":
                    if action not in ("set", "merge"):
                        raise jc.ConfigError(f"action {action!r} cannot load set commands")
                    new = target.copy()
                    jc.apply_set(new, body.text or "")
                else:
                    if kind == "configuration-text" or fmt == "text":
                        patch = jc.from_text(body.text or "")
                    elif kind == "configuration":
                        patch = jc.from_xml(body)
                    elif kind == "configuration-json":
                        raise jc.ConfigError("json is not supported by this test device")
                    else:
                        raise jc.ConfigError(f"unknown element <{kind}>")
                    new = self._apply(target, patch, action)
            except jc.ConfigError as e:
                raise RpcError(str(e), "invalid-value") from None
            if self.faults.reject_at == "load":
                bad = self._rejected(new)
                if bad is not None:
                    info = f"<error-info><bad-element>{_esc(bad)}</bad-element></error-info>"
                    raise RpcError(f"syntax error: {bad}", "invalid-value", "protocol", info)
            self._set_target(s, new)
        return "<load-configuration-results><ok/></load-configuration-results>"

    def _apply(self, target: jc.Node, patch: jc.Node, action: str) -> jc.Node:
        if action in ("override", "update"):
            return jc.strip(patch)
        if action not in ("merge", "replace"):
            raise jc.ConfigError(f"action {action!r} is not supported by this test device")
        new = target.copy()
        if action == "merge":
            patch = _no_replace(patch)
        jc.merge(new, patch)
        return new

    def _set_target(self, s: _Session, tree: jc.Node) -> None:
        if s.private is not None:
            s.private = tree
        else:
            self.candidate = tree

    def rpc_get_configuration(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            self.rpcs.append("get-configuration")
            fmt = op.get("format", "xml")
            if op.get("compare") == "rollback":
                n = int(op.get("rollback", "0"))
                if not 0 <= n < len(self.history):
                    raise RpcError(f"rollback {n} does not exist")
                text = jc.diff(self.history[n].tree, self._target(s))
                out = "\n" + text if text else "\n"
                body = f"<configuration-output>{_esc(out)}</configuration-output>"
                return f"<configuration-information>{body}</configuration-information>"
            db = op.get("database", "candidate")
            tree = self.running if db == "committed" else self._target(s)
            filt = _child(op, "configuration")
            if filt is not None and len(filt):
                tree = _filtered(tree, filt)
            return self._config_out(tree, fmt)

    def _config_out(self, tree: jc.Node, fmt: str) -> str:
        rev = self.history[0]
        if fmt == "text":
            head = f"## Last commit: {_ts(rev.seconds)} by {rev.user}\n"
            return f"<configuration-text>{_esc(head + jc.to_text(tree))}</configuration-text>"
        if fmt == "set":
            return f"<configuration-set>{_esc(jc.to_set(tree))}</configuration-set>"
        if fmt == "json":
            raise RpcError("json is not supported by this test device")
        el = jc.to_xml_element(tree)
        el.set(f"{{{JUNOS_NS}}}commit-seconds", str(rev.seconds))
        el.set(f"{{{JUNOS_NS}}}commit-user", rev.user)
        text = etree.tostring(el).decode()
        return text

    def rpc_get_config(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            self.rpcs.append("get-config")
            source = _child(op, "source")
            which = _local(source[0]) if source is not None and len(source) else "running"
            tree = self.running if which == "running" else self._target(s)
            filt = _child(op, "filter")
            conf = _child(filt, "configuration") if filt is not None else None
            if conf is not None and len(conf):
                tree = _filtered(tree, conf)
            return f"<data>{self._config_out(tree, 'xml')}</data>"

    def rpc_edit_config(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            self.rpcs.append("edit-config")
            self._check_lock(s)
            default_el = _child(op, "default-operation")
            default = (default_el.text or "merge").strip() if default_el is not None else "merge"
            config = _child(op, "config")
            text = _child(op, "config-text")
            try:
                if config is not None:
                    inner = _child(config, "configuration")
                    patch = jc.from_xml(inner if inner is not None else config)
                elif text is not None:
                    inner = _child(text, "configuration-text")
                    patch = jc.from_text((inner.text if inner is not None else text.text) or "")
                else:
                    raise jc.ConfigError("edit-config needs <config> or <config-text>")
                new = self._apply(self._target(s), patch, "override" if default == "replace" else "replace")
            except jc.ConfigError as e:
                raise RpcError(str(e), "invalid-value") from None
            if self.faults.reject_at == "load":
                bad = self._rejected(new)
                if bad is not None:
                    raise RpcError(f"syntax error: {bad}", "invalid-value", "protocol")
            self._set_target(s, new)
        return "<ok/>"

    def rpc_validate(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            self.rpcs.append("validate")
            self._validate(self._target(s))
        return "<ok/>"

    def _validate(self, tree: jc.Node) -> None:
        bad = self._rejected(tree)
        if bad is not None:
            raise RpcError(f"commit failed: (statement rejected by the test device) {bad}", "invalid-value")

    def rpc_discard_changes(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            self.rpcs.append("discard-changes")
            self._check_lock(s)
            self._set_target(s, self.running)
        return "<ok/>"

    def rpc_commit_configuration(self, s: _Session, op: etree._Element) -> str:
        confirmed = _child(op, "confirmed") is not None
        timeout = _child(op, "confirm-timeout")
        minutes = float(timeout.text or 10) if timeout is not None else 10.0
        log_el = _child(op, "log")
        check = _child(op, "check") is not None
        if _child(op, "at-time") is not None:
            raise RpcError("commit at is not supported by this test device")
        log = (log_el.text or "") if log_el is not None else ""
        return self._commit(s, confirmed, minutes, log, check, "commit-configuration")

    def rpc_commit(self, s: _Session, op: etree._Element) -> str:
        confirmed = _child(op, "confirmed") is not None
        timeout = _child(op, "confirm-timeout")
        seconds = float(timeout.text or 600) if timeout is not None else 600.0
        self._commit(s, confirmed, seconds / 60.0, "", False, "commit")
        return "<ok/>"

    def rpc_cancel_commit(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            if self._confirm is None:
                raise RpcError("no confirmed commit is pending")
            self._revert()
        return "<ok/>"

    def _commit(self, s: _Session, confirmed: bool, minutes: float, log: str, check: bool, rpc: str) -> str:
        with self.mu:
            self.rpcs.append(rpc + (" confirmed" if confirmed else "") + (" check" if check else ""))
            self._check_lock(s)
            tree = self._target(s)
            self._validate(tree)
            if check:
                return "<commit-results><routing-engine><name>re0</name><commit-check-success/></routing-engine></commit-results>"
            if self.faults.refuse_commit:
                raise RpcError(self.faults.refuse_commit)
            if self.faults.drop_on_commit == "before":
                raise _Drop()
            whole = max(1, math.ceil(minutes))
            comment = f"commit confirmed, rollback in {whole}mins" if confirmed else ""
            if log:
                comment = f"{comment}\n{log}" if comment else log
            if confirmed:
                if self._confirm is None:
                    revert_to = self.running
                else:
                    self._confirm.cancel()
                    revert_to = self._revert_to
                self._revert_to = revert_to
                self._confirm_deadline = time.time() + minutes * self.minute
                self._confirm = threading.Timer(minutes * self.minute, self._expire)
                self._confirm.daemon = True
                self._confirm.start()
            elif self._confirm is not None:
                self._confirm.cancel()
                self._confirm = None
                self._confirm_deadline = None
            self._commit_tree(tree, comment)
            if s.private is not None:
                s.private = self.running
            else:
                self.candidate = self.running
            if self.faults.sessions_down_after_commit:
                self.sessions_down = True
            if self.faults.lose_address_after_commit:
                self.faults.lose_address_after_commit = False
                self._lose_after_reply = True
            if self.faults.drop_on_commit == "after":
                raise _Drop()
        return "<commit-results><routing-engine><name>re0</name><commit-success/></routing-engine></commit-results>"

    def _expire(self) -> None:
        with self.mu:
            if self._confirm is None:
                return
            self._revert()

    def _revert(self) -> None:
        """The confirmed commit was not confirmed: go back to the configuration before it."""
        assert self._confirm is not None
        self._confirm.cancel()
        self._confirm = None
        self._confirm_deadline = None
        self._commit_tree(self._revert_to, "confirmed commit rolled back", "cli")
        self.candidate = self.running
        self.sessions_down = False

    def rpc_get_commit_revision_information(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            rev = self.history[0]
            comment = f"<comment>{_esc(rev.comment)}</comment>" if rev.comment else ""
            return (
                "<commit-revision-information>"
                f'<date-time junos:seconds="{rev.seconds}">{_ts(rev.seconds)}</date-time>'
                f"<revision>{rev.revision}</revision><user>{rev.user}</user><client>{rev.client}</client>{comment}"
                "</commit-revision-information>"
            )

    def rpc_get_commit_information(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            items = "".join(
                f"<commit-history><sequence-number>{i}</sequence-number><user>{r.user}</user><client>{r.client}</client>"
                f'<date-time junos:seconds="{r.seconds}">{_ts(r.seconds)}</date-time>'
                + (f"<log>{_esc(r.comment)}</log>" if r.comment else "")
                + "</commit-history>"
                for i, r in enumerate(self.history)
            )
            return f"<commit-information>{items}</commit-information>"

    def rpc_get_system_uptime_information(self, s: _Session, op: etree._Element) -> str:
        now = int(time.time())
        return (
            "<system-uptime-information>"
            f'<current-time><date-time junos:seconds="{now}">{_ts(now)}</date-time></current-time>'
            f'<system-booted-time><date-time junos:seconds="{int(self.booted)}">{_ts(self.booted)}</date-time>'
            "</system-booted-time>"
            "</system-uptime-information>"
        )

    def rpc_get_software_information(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            name = jc.unquote(_value(self.running, ("system", "host-name")) or self.hostname)
        return (
            f"<software-information><host-name>{_esc(name)}</host-name>"
            f"<product-model>{self.model}</product-model><product-name>{self.model}</product-name>"
            f"<junos-version>{self.version}</junos-version></software-information>"
        )

    def rpc_get_rollback_information(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            n_el = _child(op, "rollback")
            n = int(n_el.text or 0) if n_el is not None else 0
            cmp_el = _child(op, "compare")
            if not 0 <= n < len(self.history):
                raise RpcError(f"rollback {n} does not exist")
            if cmp_el is not None:
                m = int(cmp_el.text or 0)
                if not 0 <= m < len(self.history):
                    raise RpcError(f"rollback {m} does not exist")
                text = jc.diff(self.history[m].tree, self.history[n].tree)
                return (
                    "<rollback-information><ok/><configuration-information><configuration-output>"
                    f"{_esc(text or chr(10))}</configuration-output></configuration-information></rollback-information>"
                )
            fmt = _child(op, "format")
            out = self._config_out(self.history[n].tree, (fmt.text or "text") if fmt is not None else "text")
            return f"<rollback-information><ok/>{out}</rollback-information>"

    def rpc_get_bgp_summary_information(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            peers = "".join(
                f"<bgp-peer><peer-address>{p.address}</peer-address><peer-as>{p.peer_as}</peer-as>"
                f"<peer-state>{p.state}</peer-state><description>{_esc(p.description)}</description>"
                f'<elapsed-time junos:seconds="{int(time.time() - self.booted)}">up</elapsed-time></bgp-peer>'
                for p in self.bgp_peers()
            )
            return f"<bgp-information><peer-count>{len(self.bgp_peers())}</peer-count>{peers}</bgp-information>"

    def rpc_get_bgp_neighbor_information(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            rid = _value(self.running, ("routing-options", "router-id")) or "0.0.0.0"
            peers = "".join(
                f"<bgp-peer><peer-address>{p.address}+179</peer-address><peer-as>{p.peer_as}</peer-as>"
                f"<local-address>{rid}+179</local-address><local-as>{p.local_as}</local-as>"
                f"<peer-group>{_esc(p.group)}</peer-group><peer-state>{p.state}</peer-state>"
                f"<description>{_esc(p.description)}</description><peer-cfg-rti>{_esc(p.instance)}</peer-cfg-rti>"
                f"<peer-fwd-rti>{_esc(p.instance)}</peer-fwd-rti><local-id>{rid}</local-id><peer-id>{p.address}</peer-id>"
                "<bgp-option-information><bgp-options>Preference</bgp-options></bgp-option-information>"
                + (
                    "<bgp-rib><name>inet.0</name><send-state>in sync</send-state><received-prefix-count>0</received-prefix-count>"
                    "<accepted-prefix-count>0</accepted-prefix-count><advertised-prefix-count>0</advertised-prefix-count></bgp-rib>"
                    if p.state == "Established"
                    else ""
                )
                + "</bgp-peer>"
                for p in self.bgp_peers()
            )
            return f"<bgp-information>{peers}</bgp-information>"

    def rpc_get_instance_information(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            names = ["master"]
            ris = (self.running.children or {}).get(("routing-instances",))
            names += [ri.words[0] for ri in (ris.children or {}).values()] if ris is not None else []
            cores = "".join(
                f"<instance-core><instance-name>{_esc(n)}</instance-name><instance-state>Active</instance-state></instance-core>"
                for n in names
            )
            return f"<instance-information>{cores}</instance-information>"

    def rpc_get_interface_information(self, s: _Session, op: etree._Element) -> str:
        with self.mu:
            out = []
            ifs = (self.running.children or {}).get(("interfaces",))
            wanted = _child(op, "interface-name")
            for itf in (ifs.children or {}).values() if ifs is not None else ():
                name = itf.words[0]
                if wanted is not None and (wanted.text or "").strip() not in (name, ""):
                    continue
                kids = itf.children or {}
                up = "down" if ("disable",) in kids else "up"
                desc = jc.unquote(_value(itf, ("description",)) or "")
                mtu = _value(itf, ("mtu",)) or "1514"
                units = "".join(
                    f"<logical-interface><name>{name}.{u.words[1]}</name>"
                    f"<description>{_esc(jc.unquote(_value(u, ('description',)) or ''))}</description>"
                    f"<if-config-flags><iff-{'down' if up == 'down' else 'up'}/></if-config-flags></logical-interface>"
                    for u in kids.values()
                    if u.words[0] == "unit" and len(u.words) > 1
                )
                out.append(
                    f"<physical-interface><name>{name}</name><admin-status>{up}</admin-status><oper-status>{up}</oper-status>"
                    f"<description>{_esc(desc)}</description><mtu>{mtu}</mtu><speed>100Gbps</speed>"
                    f'<current-physical-address>52:54:00:00:00:01</current-physical-address>'
                    f'<interface-flapped junos:seconds="0">Never</interface-flapped>{units}</physical-interface>'
                )
            return f"<interface-information>{''.join(out)}</interface-information>"

    def bgp_peers(self) -> list[BgpPeer]:
        """The BGP neighbors of the running configuration; all Established unless the
        ``sessions_down_after_commit`` fault fired (then Active)."""
        state = "Active" if self.sessions_down else "Established"
        out: list[BgpPeer] = []
        running = self.running
        assert running.children is not None
        local_as = _value(running, ("routing-options", "autonomous-system")) or "0"

        def groups(bgp: jc.Node | None, instance: str) -> None:
            if bgp is None or bgp.children is None:
                return
            for g in bgp.children.values():
                if g.words[0] != "group" or g.children is None:
                    continue
                g_as = _value(g, ("peer-as",)) or ""
                for n in g.children.values():
                    if n.words[0] == "neighbor" and len(n.words) > 1:
                        out.append(
                            BgpPeer(
                                address=n.words[1],
                                peer_as=_value(n, ("peer-as",)) or g_as or local_as,
                                local_as=local_as,
                                group=g.words[1],
                                state=state,
                                description=jc.unquote(_value(n, ("description",)) or ""),
                                instance=instance,
                            )
                        )

        groups(_find(running, (("protocols",), ("bgp",))), "master")
        ris = running.children.get(("routing-instances",))
        for ri in (ris.children or {}).values() if ris is not None else ():
            groups(_find(ri, (("protocols",), ("bgp",))), ri.words[0])
        if self.network is not None:
            view = {(n.instance, n.address): n for n in self.view().neighbors}
            for i, p in enumerate(out):
                n = view.get(("default" if p.instance == "master" else p.instance, _norm(p.address)))
                up = n is not None and self.network.session_state(self, n)
                out[i] = dataclasses.replace(p, state="Established" if up else "Active")
            out += self._dynamic_peers(state)
        return out

    def _dynamic_peers(self, state: str) -> list[BgpPeer]:
        """In a network: the speakers inside a group's ``allow`` prefixes (dynamic neighbors)."""
        assert self.network is not None
        out = []
        running = self.running
        local_as = _value(running, ("routing-options", "autonomous-system")) or "0"
        places = [("master", _find(running, (("protocols",), ("bgp",))))]
        ris = (running.children or {}).get(("routing-instances",))
        places += [(ri.words[0], _find(ri, (("protocols",), ("bgp",)))) for ri in (ris.children or {}).values()] \
            if ris is not None else []
        for instance, bgp in places:
            for g in (bgp.children or {}).values() if bgp is not None else ():
                allow = (g.children or {}).get(("allow",)) if g.words[0] == "group" else None
                if allow is None:
                    continue
                inst = "default" if instance == "master" else instance
                accepts = self._as_matcher(g, local_as)
                for addr, asn in self.network.dynamic_peers(self, inst, allow.values or allow.words[1:], accepts):
                    out.append(BgpPeer(address=addr, peer_as=asn, local_as=local_as, group=g.words[1], state=state,
                                       description=jc.unquote(_value(g, ("description",)) or ""), instance=instance))
        return out

    def _as_matcher(self, group: jc.Node, local_as: str) -> Callable[[str], bool]:
        """Which peer AS a group accepts: ``peer-as``, or the members (numbers or ``A-B``
        ranges) of the ``policy-options as-list`` its ``peer-as-list`` names."""
        peer_as = _value(group, ("peer-as",))
        if peer_as:
            return lambda asn: asn == peer_as
        name = _value(group, ("peer-as-list",))
        if not name:
            return lambda asn: asn == local_as
        lst = _find(self.running, (("policy-options",), ("as-list", name)))
        members = _find(lst, (("members",),)) if lst is not None else None
        ranges = []
        for m in (members.values or members.words[1:]) if members is not None else ():
            lo, _, hi = str(m).partition("-")
            if lo.isdigit() and (hi.isdigit() or not hi):
                ranges.append((int(lo), int(hi or lo)))
        return lambda asn: asn.isdigit() and any(lo <= int(asn) <= hi for lo, hi in ranges)

    def _instances(self) -> list[str]:
        ris = (self.running.children or {}).get(("routing-instances",))
        return ["default"] + [ri.words[0] for ri in (ris.children or {}).values()] if ris is not None else ["default"]

    def rpc_get_route_information(self, s: _Session, op: etree._Element) -> str:
        """``show route [table T | instance I]``, brief: the active route of every destination
        (connected, local, static and, in a network, the underlay's BGP routes)."""
        table_el, inst_el = _child(op, "table"), _child(op, "instance")
        want_table = (table_el.text or "").strip() if table_el is not None else ""
        want_inst = (inst_el.text or "").strip() if inst_el is not None else ""
        view = self.view()
        tables = []
        for inst in self._instances():
            if want_inst and want_inst != ("master" if inst == "default" else inst):
                continue
            for fam in ("inet", "inet6"):
                name = f"{fam}.0" if inst == "default" else f"{inst}.{fam}.0"
                if want_table and want_table != name:
                    continue
                bgp = self.network.bgp_routes(self, fam) if self.network is not None and inst == "default" else {}
                entries = rib(view, inst, 6 if fam == "inet6" else 4, bgp)
                tables.append(self._route_table(name, entries))
        ns = "http://xml.juniper.net/junos/23.4R1/junos-routing"
        return f'<route-information xmlns="{ns}">{"".join(tables)}</route-information>'

    def _route_table(self, name: str, entries: list[RibEntry]) -> str:
        age = int(time.time() - self.booted)
        proto = {"direct": ("Direct", 0), "local": ("Local", 0), "static": ("Static", 5), "bgp": ("BGP", 170)}
        rts = []
        for e in entries:
            pname, pref = proto[e.protocol]
            hops = []
            for n, (to, via) in enumerate(e.hops):
                sel = "<selected-next-hop/>" if n == 0 else ""
                if e.protocol == "local":
                    hops.append(f"<nh>{sel}<nh-local-interface>{_esc(via)}</nh-local-interface></nh>")
                else:
                    hops.append(f"<nh>{sel}" + (f"<to>{to}</to>" if to else "") + f"<via>{_esc(via)}</via></nh>")
            rts.append(
                f'<rt junos:style="brief"><rt-destination>{e.prefix}</rt-destination><rt-entry>'
                f"<active-tag>*</active-tag><current-active/><last-active/><protocol-name>{pname}</protocol-name>"
                f'<preference>{pref}</preference><age junos:seconds="{age}">{age // 3600}:{age // 60 % 60:02d}:'
                f"{age % 60:02d}</age>{''.join(hops)}</rt-entry></rt>"
            )
        n = len(entries)
        return (f"<route-table><table-name>{name}</table-name><destination-count>{n}</destination-count>"
                f"<total-route-count>{n}</total-route-count><active-route-count>{n}</active-route-count>"
                f"<holddown-route-count>0</holddown-route-count><hidden-route-count>0</hidden-route-count>"
                f"{''.join(rts)}</route-table>")

    def rpc_get_ethernet_switching_vxlan_rvtep_info(self, s: _Session, op: etree._Element) -> str:
        """``show ethernet-switching vxlan-tunnel-end-point remote``: the remote VTEPs learned
        over EVPN (in a network; none alone) and their VNIs."""
        view = self.view()
        remotes = self.network.remote_vteps(self) if self.network is not None else {}
        by_vtep: dict[str, list[int]] = {}
        for vni, vteps in sorted(remotes.items()):
            for vt in vteps:
                by_vtep.setdefault(vt, []).append(vni)
        body = "".join(
            f"<vxlan-remote-vtep-information><remote-vtep-address>{vt}</remote-vtep-address>"
            f"<remote-vtep-mode>RNVE</remote-vtep-mode>"
            + "".join(f"<vxlan-dynamic-information><vxlan-format><vn-id>{v}</vn-id>"
                      "<multicast-address>0.0.0.0</multicast-address></vxlan-format></vxlan-dynamic-information>"
                      for v in vnis)
            + "</vxlan-remote-vtep-information>"
            for vt, vnis in sorted(by_vtep.items())
        )
        src = (f"<vxlan-source-vtep-information><logical-system-name>&lt;default&gt;</logical-system-name>"
               f"<source-vtep-address>{view.vtep}</source-vtep-address><source-vtep-interface>lo0.0</source-vtep-interface>"
               f"{body}</vxlan-source-vtep-information>") if view.vtep else ""
        return f"<vxlan-tunnel-end-point-information>{src}</vxlan-tunnel-end-point-information>"

    def rpc_close_session(self, s: _Session, op: etree._Element) -> str:
        s.open = False
        return "<ok/>"

    def rpc_kill_session(self, s: _Session, op: etree._Element) -> str:
        sid_el = _child(op, "session-id")
        sid = int(sid_el.text or 0) if sid_el is not None else 0
        with self.mu:
            other = self.sessions.get(sid)
        if other is None:
            raise RpcError(f"no session {sid}", "invalid-value", "protocol")
        other.transport.close()
        return "<ok/>"

    def rpc_get(self, s: _Session, op: etree._Element) -> str:
        return "<data/>"


@dataclass(frozen=True)
class BgpPeer:
    address: str
    peer_as: str
    local_as: str
    group: str
    state: str
    description: str
    instance: str


def _norm(addr: str) -> str:
    try:
        return str(ip_address(addr))
    except ValueError:
        return addr


def _find(node: jc.Node, path: tuple[jc.Key, ...]) -> jc.Node | None:
    at: jc.Node | None = node
    for key in path:
        if at is None or at.children is None:
            return None
        at = at.children.get(key)
    return at


def _value(node: jc.Node, path: tuple[str, ...]) -> str | None:
    at = _find(node, tuple((w,) for w in path))
    if at is None or at.children is not None or len(at.words) < 2:
        return None
    return at.words[1]


def _ts(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


@functools.lru_cache(maxsize=64)
def _load_any(config: str) -> jc.Node:
    """A configuration in any form as a tree; cached, as trees are never changed in place
    (200 devices started from one text share one tree)."""
    text = config.strip()
    if text.startswith("<"):
        return jc.strip(jc.from_xml(text))
    first = text.split(None, 1)[0] if text else ""
    if first in ("set", "delete"):
        tree = jc.root()
        jc.apply_set(tree, text)
        return tree
    return jc.strip(jc.from_text(text))


def _no_replace(patch: jc.Node) -> jc.Node:
    """``action="merge"`` ignores ``replace:`` tags (``action="replace"`` honours them)."""
    out = jc.Node(patch.words, None, patch.values, patch.ctx, None if patch.op == "replace" else patch.op)
    if patch.children is not None:
        out.children = {k: _no_replace(c) for k, c in patch.children.items()}
    return out


def _filtered(tree: jc.Node, filt: etree._Element) -> jc.Node:
    """A subtree filter: the top-level hierarchies named in ``<configuration>``."""
    out = jc.root()
    assert tree.children is not None and out.children is not None
    for el in filt:
        name = _local(el)
        node = tree.children.get((name,))
        if node is not None:
            out.children[(name,)] = node.copy()
    return out

