"""The ``netconf`` driver: Junos directly over ncclient, loading the YANG-valid XML.

The sequence on the wire (``../shared/reference/push-protocols.md`` 2.2):
``<lock>`` candidate -> ``<load-configuration>`` -> ``<validate>`` -> ``<get-configuration
compare="rollback">`` (the diff) -> ``<commit-configuration><confirmed/><confirm-timeout>``
-> post-checks -> ``<commit-configuration/>`` (confirm) -> ``<unlock>``; ``rollback`` is
``<load-configuration rollback="1"/>`` + commit; discard is ``<discard-changes/>`` + unlock.

A replace config (curly-brace text: pristine + rendered) is parsed with the renderer's
parser; every top-level hierarchy that Juniper's QFX YANG covers is sent as the ``.xml``
form (:func:`fabric.render.junos.xml.to_xml`), the rest (``system``, ``snmp``: outside the
schema set) as text. Both go into the same candidate: first ``action="override"`` (text,
or the XML when everything is in the schema), then ``action="merge"`` of the other, so the
candidate is exactly the whole config and the device computes the diff.

Host keys: checked against the known_hosts file before the login (a handshake without
credentials) and again on the session's own transport. Every RPC has the connection's
timeout. Errors name the device and the cause, never the password.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any, TypeVar

from fabric.deploy.driver import BgpNeighbor, Connection, EthernetSegment, Facts, Interface, Route, Vni
from fabric.deploy.drivers._common import check_host_key, scrub
from fabric.deploy.drivers.replies import JUNOS_VNI_CONFIG, junos_routes, junos_tables, junos_vnis
from fabric.deploy.errors import CommitError, ConnectError, GetterUnsupported, LoadError, LockError
from fabric.errors import DeployError, RenderError
from fabric.render.junos.tree import parse, to_curly
from fabric.render.junos.xml import MODULES, to_xml

T = TypeVar("T")


def split_for_xml(config: str) -> tuple[str, str]:
    """``(text, xml)``: the hierarchies outside the YANG schema set as curly text, the rest
    as Junos XML (``""`` when a part is empty)."""
    text_part, xml_part = [], []
    for stmt in parse(config):
        if stmt.keyword in MODULES and len(stmt.words) == 1 and stmt.children is not None:
            try:
                to_xml([stmt])
                xml_part.append(stmt)
                continue
            except RenderError:
                pass
        text_part.append(stmt)
    return (to_curly(text_part) if text_part else "", to_xml(xml_part) if xml_part else "")


def _local(tag: object) -> str:
    s = str(tag)
    return s.rsplit("}", 1)[-1]


def _root(reply: Any) -> Any:
    """The lxml element of an ncclient reply (``NCElement`` for junos, ``RPCReply`` else)."""
    doc = getattr(reply, "_NCElement__doc", None)
    if doc is not None:
        return doc
    if hasattr(reply, "iter"):
        return reply
    from lxml import etree  # type: ignore[import-untyped]

    return etree.fromstring(reply.xml.encode() if isinstance(reply.xml, str) else reply.xml)


def _find_text(reply: Any, name: str) -> list[str]:
    return [(e.text or "") for e in _root(reply).iter() if _local(e.tag) == name]


def junos_bgp_neighbors(root: Any) -> list[BgpNeighbor]:
    """``<get-bgp-neighbor-information/>``'s answer as typed records (any namespace)."""
    out = []
    for peer in (e for e in root.iter() if _local(e.tag) == "bgp-peer"):
        vals = {_local(c.tag): (c.text or "").strip() for c in peer}
        state = vals.get("peer-state", "")
        rti = vals.get("peer-cfg-rti", "master")
        out.append(BgpNeighbor(
            vrf="default" if rti == "master" else rti, address=vals.get("peer-address", "").split("+")[0],
            remote_as=int(vals.get("peer-as", "0") or 0), local_as=int(vals.get("local-as", "0") or 0),
            state="established" if state.lower() == "established" else "down",
            description=vals.get("description", ""),
        ))
    return out


class NetconfDriver:
    """Junos over NETCONF (ncclient) for one device."""

    name = "netconf"

    def __init__(self, connection: Connection) -> None:
        if connection.platform != "junos":
            raise DeployError(f"{connection.host}: the netconf driver handles junos, not {connection.platform}")
        self.conn = connection
        self.label = connection.host
        self.port = connection.port or 830
        self._m: Any = None
        self._locked = False
        self._dirty = False  # a candidate was loaded and not committed or discarded

    def _call(self, kind: type[DeployError], what: str, fn: Callable[[], T]) -> T:
        if self._m is None:
            raise ConnectError(f"{self.label}: not connected")
        from ncclient.operations.errors import TimeoutExpiredError
        from ncclient.operations.rpc import RPCError
        from ncclient.transport.errors import TransportError

        try:
            return fn()
        except DeployError:
            raise
        except RPCError as e:
            msg = scrub(self.conn, f"{self.label}: {what}: {(e.message or str(e)).strip()}")
            if "lock" in what or "lock" in (e.message or "").lower() or e.tag == "lock-denied":
                raise LockError(msg) from None
            raise kind(msg) from None
        except (TransportError, TimeoutExpiredError, OSError, EOFError) as e:
            raise ConnectError(scrub(self.conn, f"{self.label}: {what}: connection lost ({type(e).__name__}: {e})")) from None
        except Exception as e:
            raise kind(scrub(self.conn, f"{self.label}: {what}: {type(e).__name__}: {e}")) from None

    def open(self) -> None:
        from ncclient import manager

        check_host_key(self.conn, self.port, self.label)
        try:
            self._m = manager.connect(
                host=self.conn.host, port=self.port, username=self.conn.username, password=self.conn.password,
                hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=self.conn.timeout,
                device_params={"name": "junos"}, manager_params={"timeout": self.conn.timeout},
            )
        except Exception as e:
            raise ConnectError(scrub(self.conn, f"{self.label}: cannot connect to {self.conn.host}:{self.port}: "
                                                f"{type(e).__name__}: {e}")) from None
        try:
            check_host_key(self.conn, self.port, self.label, self._m._session._transport.get_remote_server_key())
        except DeployError:
            self.close()
            raise

    def close(self) -> None:
        m, self._m = self._m, None
        if m is None:
            return
        try:
            if m.connected:
                if self._locked:
                    if self._dirty:  # an unlock alone would leave the changes in the shared candidate
                        m.discard_changes()
                    m.unlock("candidate")
                m.close_session()
        except Exception:  # a dead session: nothing left to close
            pass
        finally:
            self._locked = self._dirty = False
            with contextlib.suppress(Exception):
                m._session.close()

    def get_config(self) -> str:
        reply = self._call(ConnectError, "get running config", lambda: self._m.get_configuration(format="text"))
        texts = _find_text(reply, "configuration-text")
        return texts[0] if texts else ""

    def _lock(self) -> None:
        if not self._locked:
            self._call(LockError, "lock candidate", lambda: self._m.lock("candidate"))
            self._locked = True

    def _unlock(self) -> None:
        if self._locked:
            self._call(LockError, "unlock candidate", lambda: self._m.unlock("candidate"))
            self._locked = False

    def _load(self, config: str, replace: bool) -> None:
        self._lock()
        self._dirty = True
        try:
            text, xml = split_for_xml(config)
        except RenderError as e:
            raise LoadError(f"{self.label}: candidate is not valid Junos text: {e}") from None
        steps: list[tuple[str, str, str]] = []  # (action, format, config)
        if replace:
            if text:
                steps.append(("override", "text", text))
                if xml:
                    steps.append(("merge", "xml", xml))
            else:
                steps.append(("override", "xml", xml or "<configuration/>"))
        else:
            if text:
                steps.append(("merge", "text", text))
            if xml:
                steps.append(("merge", "xml", xml))
        for action, fmt, body in steps:
            self._load_one(action, fmt, body)
        self._call(LoadError, "validate", lambda: self._m.validate(source="candidate"))

    def _load_one(self, action: str, fmt: str, body: str) -> None:
        if fmt == "xml":  # the whole <configuration> element in Juniper's YANG namespaces
            rpc = f'<load-configuration action="{action}" format="xml">{body}</load-configuration>'
            self._call(LoadError, f"load ({action}, xml)", lambda: self._m.rpc(rpc))
            return
        self._call(LoadError, f"load ({action}, {fmt})",
                   lambda: self._m.load_configuration(action=action, format=fmt, config=body))

    def load_replace_candidate(self, config: str) -> None:
        self._load(config, replace=True)

    def load_merge_candidate(self, config: str) -> None:
        self._load(config, replace=False)

    def compare_config(self) -> str:
        reply = self._call(LoadError, "compare", lambda: self._m.compare_configuration(rollback=0))
        texts = _find_text(reply, "configuration-output")
        out = "".join(texts)
        return out if out.strip() else ""

    def discard_config(self) -> None:
        self._call(LoadError, "discard", self._m.discard_changes)
        self._dirty = False
        self._unlock()

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        self._lock()
        if revert_in:
            seconds = math.ceil(revert_in / 60) * 60
            self._call(CommitError, "commit confirmed", lambda: self._m.commit(
                confirmed=True, timeout=str(seconds), comment=message or None))
            self._dirty = False
        else:
            self._call(CommitError, "commit", lambda: self._m.commit(comment=message or None))
            self._dirty = False
            self._unlock()

    def confirm_commit(self) -> None:
        self._call(CommitError, "confirm", lambda: self._m.commit())
        self._unlock()

    def has_pending_commit(self) -> bool:
        reply = self._call(ConnectError, "commit information",
                           lambda: self._m.rpc("<get-commit-revision-information><detail/></get-commit-revision-information>"))
        return any("commit confirmed" in c for c in _find_text(reply, "comment"))

    def rollback(self) -> None:
        self._lock()
        self._call(CommitError, "load rollback 1", lambda: self._m.rollback(rollback=1))
        self._call(CommitError, "commit the rollback", lambda: self._m.commit())
        self._unlock()

    # --- getters ----------------------------------------------------------------------------------

    def _rpc(self, what: str, xml: str) -> Any:
        return self._call(ConnectError, what, lambda: self._m.rpc(xml))

    def get_facts(self) -> Facts:
        r = self._rpc("facts", "<get-software-information/>")

        def first(name: str) -> str:
            found = _find_text(r, name)
            return found[0].strip() if found else ""

        return Facts(hostname=first("host-name"), vendor="Juniper", model=first("product-model"),
                     os_version=first("junos-version"))

    def get_bgp_neighbors(self) -> list[BgpNeighbor]:
        return junos_bgp_neighbors(_root(self._rpc("BGP neighbors", "<get-bgp-neighbor-information/>")))

    def get_interfaces(self) -> list[Interface]:
        r = self._rpc("interfaces", "<get-interface-information><terse/></get-interface-information>")
        out = []
        for phy in (e for e in _root(r).iter() if _local(e.tag) == "physical-interface"):
            vals = {_local(c.tag): (c.text or "").strip() for c in phy}
            out.append(Interface(name=vals.get("name", ""), enabled=vals.get("admin-status") == "up",
                                 up=vals.get("oper-status") == "up"))
        return out

    def get_vnis(self) -> list[Vni]:
        config = _root(self._rpc("EVPN/VNI configuration", JUNOS_VNI_CONFIG))
        rvtep = _root(self._rpc("remote VTEPs", "<get-ethernet-switching-vxlan-rvtep-info/>"))
        return junos_vnis(config, rvtep)

    def get_ethernet_segments(self) -> list[EthernetSegment]:
        raise GetterUnsupported(f"{self.label}: Ethernet segments: no getter on junos (netconf) yet (the reply of "
                                "its Ethernet-segment command is not verified)")

    def get_routes(self, vrf: str = "default") -> list[Route]:
        routes: list[Route] = []
        for table in junos_tables(vrf):
            reply = self._rpc(f"routes of {table}", f"<get-route-information><table>{table}</table></get-route-information>")
            routes += junos_routes(_root(reply), vrf)
        return routes
