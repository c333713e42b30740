"""The allocation ledger: ``allocations.yaml`` beside the inventory.

Rules, in the order :func:`plan_allocations` applies them to each section:

1. a value pinned in the inventory wins (it was checked to lie in its pool);
2. an existing entry never moves;
3. a new object takes the lowest free value of its pool (inventory order);
4. entries of objects no longer in the inventory stay reserved ("stale") until
   ``prune=True``, when they are freed.

Writes are atomic (:func:`fabric.files.atomic_write`: temp file, fsync, rename, fsync of
the folder).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Literal

from fabric.errors import LedgerError, LedgerInputError, Problem
from fabric.files import atomic_write
from fabric.model import Inventory
from fabric.resources.pools import FreeList, IntPool, address_pool, int_pool, mac_pool, subnet_pool
from fabric.sorting import natural_key
from fabric.yamlsrc import SourceError, SourceMap, format_path, load_yaml_with_lines, read_source

LEDGER_VERSION = 1

#: what a ledger key may be: a name (fabric.model.base.NAME_RE), NAME--NAME[--N] for links,
#: network/NAME, vrf/NAME or site/NAME
_LEDGER_KEY = re.compile(r"^(?:(?:network|vrf|site)/)?[A-Za-z0-9][A-Za-z0-9._-]{0,62}(?:--[A-Za-z0-9][A-Za-z0-9._-]{0,62})*$")

# Section order in the file and in plans.
SECTIONS: tuple[str, ...] = (
    "site_id", "spine_id", "leaf_id", "loopback", "vtep", "asn", "p2p", "p2p_v6", "vlan", "l2vni", "l3vni", "node_asn",
    "k8s_peering", "k8s_peering_v6", "k8s_loopback", "es_id", "lacp_system_id",
)
SECTION_HELP = {
    "site_id": "site number (Multi-Site BGW id, DCI ESI)",
    "spine_id": "spine number (default cabling: a leaf's uplink port)",
    "leaf_id": "leaf number (default cabling: a spine's downlink port)",
    "loopback": "router id / EVPN peering address",
    "vtep": "VXLAN tunnel source address of a leaf, or a site's Multi-Site VIP (site/NAME)",
    "asn": "switch ASN",
    "p2p": "fabric link /31 (key LEAF--SPINE or A--B for DCI)",
    "p2p_v6": "fabric link /127",
    "vlan": "VLAN of a network (network/NAME) or of a VRF's L3 VNI (vrf/NAME)",
    "l2vni": "L2 VNI of a network",
    "l3vni": "L3 VNI of a VRF",
    "node_asn": "ASN of a Kubernetes node (clusters with an ASN range)",
    "k8s_peering": "a leaf's address toward Kubernetes nodes in a VRF (key VRF--LEAF)",
    "k8s_peering_v6": "a leaf's IPv6 address toward Kubernetes nodes in a VRF (key VRF--LEAF)",
    "k8s_loopback": "number of the loopback carrying a VRF's Kubernetes peering address on every leaf",
    "es_id": "Ethernet segment number of a dual-homed server (ESI, NX-OS ethernet-segment, FRR es-id)",
    "lacp_system_id": "LACP system id both leaves of a dual-homed server announce",
}

#: Loopback numbers of the Kubernetes peering addresses (NX-OS ``loopbackN``, Junos
#: ``lo0.N``): NX-OS numbers loopbacks 0-1023; 0, 1 and 100 are the router id, the VTEP
#: and the Multi-Site VIP.
K8S_LOOPBACKS = (200, 1023)

#: how many LACP system ids the pool after ``pools.lacp_system_mac`` holds
LACP_SYSTEM_IDS = 65535

#: VNIs never handed out: their numbers are route targets the design uses itself
#: (``target:<admin>:65534`` is the EVPN instance's: fabric.design.intent.EVPN_INSTANCE_RD;
#: a literal here because the design imports the ledger, and a test keeps them equal).
RESERVED_VNIS = frozenset({65534})

Action = Literal["added", "kept", "changed", "stale", "freed"]
Value = int | str


@dataclass(frozen=True)
class Request:
    """One object asking for a value in ``section``; ``shared`` values (a spine ASN all
    spines use) may be held by several keys."""

    section: str
    key: str
    pool: IntPool
    pinned: int | None = None
    shared: bool = False


@dataclass(frozen=True)
class Change:
    """What planning does to one ledger entry."""

    section: str
    key: str
    action: Action
    old: Value | None
    new: Value | None

    def as_dict(self) -> dict[str, Value | None]:
        return {"section": self.section, "key": self.key, "action": self.action, "old": self.old, "new": self.new}


@dataclass
class Ledger:
    """The ledger as stored: section -> key -> value (ints, or addresses/prefixes as text)."""

    fabric: str = ""
    sections: dict[str, dict[str, Value]] = field(default_factory=dict)

    source: SourceMap = field(default_factory=SourceMap, compare=False, repr=False)
    """Where each entry was written (``(section, key)`` -> file, line) when read from a file."""
    problems: list[Problem] = field(default_factory=list, compare=False, repr=False)
    """Shape problems found by a non-strict :meth:`read`; planning refuses such a ledger."""

    @classmethod
    def read(cls, path: Path, display: str | None = None, strict: bool = True) -> Ledger:
        """Read ``path`` (a missing file is an empty ledger). Raises
        :class:`~fabric.errors.LedgerInputError` listing every problem of the file's
        shape: not readable or not YAML, duplicate keys, wrong version, unknown sections,
        values that are neither numbers nor text. Values are checked against the pools by
        :func:`plan_allocations`. With ``strict=False`` a file that parsed keeps its shape
        problems in ``problems`` (the readable rest is loaded) and
        :func:`plan_allocations` reports them together with its own."""
        name = display or str(path)
        if not os.path.lexists(path):
            return cls()
        smap = SourceMap()
        smap.where[()] = (name, 0)
        try:
            text = read_source(path, name)
            data = _read_as_written(text, name, smap)
            if data is None:
                data = load_yaml_with_lines(text, name, smap)
        except SourceError as e:
            raise LedgerInputError([Problem(e.file, e.line, format_path(e.path), e.message)]) from None
        if data is None:
            return cls(source=smap)
        problems: list[Problem] = []

        def at(where: tuple[str | int, ...], message: str) -> None:
            fname, line = smap.locate(where)
            problems.append(Problem(fname, line, format_path(where), message))

        if not isinstance(data, dict):
            at((), "not an allocation ledger: expected a mapping of sections")
            raise LedgerInputError(problems)
        if data.get("version") != LEDGER_VERSION:
            at(("version",) if "version" in data else (),
               f"not an allocation ledger of version {LEDGER_VERSION} (version: {data.get('version')!r})")
        fabric = data.get("fabric", "")
        if not isinstance(fabric, str):
            at(("fabric",), "fabric must be the fabric's name")
        out = cls(fabric=str(fabric), source=smap)
        for name_, entries in data.items():
            if name_ in ("version", "fabric"):
                continue
            if name_ not in SECTIONS:
                close = difflib.get_close_matches(str(name_), SECTIONS, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                at((name_,), f"unknown section; {hint}sections: {', '.join(SECTIONS)}")
                continue
            if entries is None:
                continue
            if not isinstance(entries, dict):
                at((name_,), "a section must be a mapping of KEY: VALUE")
                continue
            section: dict[str, Value] = {}
            for key, v in entries.items():
                if isinstance(v, bool) or not isinstance(v, int | str):
                    at((name_, key), f"expected a number or an address, got {v!r}")
                    continue
                skey = str(key)
                if not _LEDGER_KEY.match(skey):
                    at((name_, key), f"{skey!r} is not a ledger key (names, NAME--NAME, network/NAME, vrf/NAME, "
                                     "site/NAME)")
                    continue
                if skey in section:  # 1: and "1": the same key once written back
                    at((name_, key), f"key {skey!r} appears twice")
                    continue
                section[skey] = v
                if skey != key:
                    smap.where[(name_, skey)] = smap.locate((name_, key))
            out.sections[name_] = section
        if problems and strict:
            raise LedgerInputError(problems)
        out.problems = problems
        return out

    def locate(self, section: str, key: str | None = None) -> tuple[str, int]:
        """The file and line of an entry (or of a section) as read."""
        return self.source.locate((section,) if key is None else (section, key))

    def dump(self) -> str:
        """The file text: fixed section order, keys in natural order, one entry a line."""
        lines = [
            f"# Allocation ledger of fabric {self.fabric!s}: written by `fabric plan`, commit it with the inventory.",
            "# Values never move. Entries of removed objects stay reserved until `fabric plan --prune`.",
            f"version: {LEDGER_VERSION}",
            f'fabric: "{self.fabric}"',
        ]
        for name in SECTIONS:
            entries = self.sections.get(name)
            if not entries:
                continue
            lines.append(f"{name}:  # {SECTION_HELP[name]}")
            for key in sorted(entries, key=natural_key):
                v = entries[key]
                val = str(v) if isinstance(v, int) else json.dumps(str(v))
                lines.append(f"  {json.dumps(key)}: {val}")
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        """Atomically replace ``path`` with this ledger."""
        atomic_write(path, self.dump())


_TOP_KEYS = "|".join(("version", "fabric", *SECTIONS))
_NUMBER = r"(0|[1-9][0-9]*)"
_QUOTED = r'"([ !#-\[\]-~]*)"'  # printable ASCII, no quote or backslash: nothing to unescape
_WRITTEN_LINE = re.compile(
    rf'  "([A-Za-z0-9._/-]+)": (?:{_NUMBER}|{_QUOTED})'           # an entry: groups 1-3
    rf"|({_TOP_KEYS}):(?: {_NUMBER}| {_QUOTED}|(?: +#[ -~]*)?)"   # a top-level key: groups 4-6
    r"|#[ -~]*"                                                    # a comment line
)


def _read_as_written(text: str, fname: str, smap: SourceMap) -> dict[str, object] | None:
    """The ledger ``text`` read without a YAML parser when every line has the form
    :meth:`Ledger.dump` writes (comment lines, ``version: 1``, ``fabric: "NAME"``,
    ``SECTION:  # help``, ``  "KEY": VALUE``, ASCII, nothing to unescape); None for
    anything else, which :func:`~fabric.yamlsrc.load_yaml_with_lines` reads (a ledger
    edited by hand, a duplicate key, any error). Same data and source map as the YAML
    reader (``tests/unit/test_ledger.py`` compares them, also on damaged files); 5x
    faster on the 4,000 entries of the benchmark fabric."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    data: dict[str, object] = {}
    where: dict[tuple[str | int, ...], tuple[str, int]] = {}
    section: dict[str, object] | None = None
    section_name = ""
    match = _WRITTEN_LINE.fullmatch
    for n, line in enumerate(lines, 1):
        m = match(line)
        if m is None:
            return None
        key = m.group(1)
        if key is not None:  # an entry of the section above
            if section is None or key in section:
                return None
            number = m.group(2)
            section[key] = int(number) if number is not None else m.group(3)
            where[(section_name, key)] = (fname, n)
            continue
        top = m.group(4)
        if top is None:  # a comment
            continue
        if top in data or (section is not None and not section):
            return None  # a duplicate key; an empty section (YAML reads it as null): the YAML reader
        if not data:
            where[()] = (fname, n)
        where[(top,)] = (fname, n)
        number, quoted = m.group(5), m.group(6)
        if number is not None or quoted is not None:
            data[top] = int(number) if number is not None else quoted
            section = None
        else:
            section = data[top] = {}
            section_name = top
    if not data or (section is not None and not section):
        return None
    smap.where.update(where)
    return data


# ------------------------------------------------------------------ requests


def link_keys(inv: Inventory) -> list[str]:
    """Stable keys of every fabric link: ``LEAF--SPINE`` (``--2`` etc. for parallel
    cables), then ``A--B`` for DCI links."""
    keys: list[str] = []
    if inv.cabling is None:
        for lf in inv.leaves:
            keys.extend(f"{lf.name}--{s.name}" for s in inv.spines)
    else:
        count: dict[str, int] = {}
        for link in inv.cabling:
            base = f"{link.leaf}--{link.spine}"
            count[base] = count.get(base, 0) + 1
            keys.append(base if count[base] == 1 else f"{base}--{count[base]}")
    keys.extend(f"{d.a}--{d.b}" for d in inv.dci_links)
    return keys


def requests(inv: Inventory) -> list[Request]:
    """Everything the inventory needs from the pools, in inventory order."""
    p = inv.pools
    out: list[Request] = []
    ids = int_pool("id", 1, 65535)
    out += [Request("site_id", site.name, ids) for site in inv.fabric.sites]
    out += [Request("spine_id", s.name, ids) for s in inv.spines]
    out += [Request("leaf_id", lf.name, ids) for lf in inv.leaves]
    lo = address_pool("loopback", p.loopback, skip_network=True)
    for sw in inv.switches():
        out.append(Request("loopback", sw.name, lo, lo.parse(sw.loopback) if sw.loopback else None))
    vt = address_pool("vtep", p.vtep, skip_network=True)
    out += [Request("vtep", lf.name, vt, vt.parse(lf.vtep) if lf.vtep else None) for lf in inv.leaves]
    # a site whose border leaves stitch to another site needs one anycast VTEP (the
    # Multi-Site VIP) shared by its borders: from the VTEP pool, so it never meets a VTEP
    site_of = {lf.name: lf.site for lf in inv.leaves}
    dci_sites = {site_of.get(end) for d in inv.dci_links for end in (d.a, d.b)}
    out += [Request("vtep", f"site/{site.name}", vt) for site in inv.fabric.sites if site.name in dci_sites]
    sp = int_pool("asn.spine", p.asn.spine.first, p.asn.spine.last)
    for s in inv.spines:
        if s.asn is not None:
            out.append(Request("asn", s.name, sp, s.asn, shared=p.asn.spines_share))
        elif p.asn.spines_share:
            out.append(Request("asn", s.name, sp, p.asn.spine.first, shared=True))
        else:
            out.append(Request("asn", s.name, sp))
    lp = int_pool("asn.leaf", p.asn.leaf.first, p.asn.leaf.last)
    bp = int_pool("asn.border", p.asn.border.first, p.asn.border.last) if p.asn.border else lp
    for lf in inv.leaves:
        out.append(Request("asn", lf.name, bp if lf.role == "border" else lp, lf.asn))
    keys = link_keys(inv)
    p2p = subnet_pool("p2p", p.p2p, 31)
    out += [Request("p2p", k, p2p) for k in keys]
    if p.p2p_v6 is not None:
        p6 = subnet_pool("p2p_v6", p.p2p_v6, 127)
        out += [Request("p2p_v6", k, p6) for k in keys]
    vl = int_pool("vlan", p.vlan.first, p.vlan.last)
    # a VNI is also the number of its route target; RESERVED_VNIS are taken by the design
    l2 = int_pool("l2vni", p.l2vni.first, p.l2vni.last, RESERVED_VNIS)
    l3 = int_pool("l3vni", p.l3vni.first, p.l3vni.last, RESERVED_VNIS)
    for v in inv.vrfs():
        out.append(Request("vlan", f"vrf/{v.name}", vl, v.vlan))
        out.append(Request("l3vni", v.name, l3, v.l3vni))
    for n in inv.networks():
        out.append(Request("vlan", f"network/{n.name}", vl, n.vlan))
        out.append(Request("l2vni", n.name, l2, n.vni))
    for c in inv.kubernetes.clusters:
        if c.shared_asn:
            continue
        cp = int_pool(f"kubernetes.{c.name}.asn", c.asn.first, c.asn.last)
        out += [Request("node_asn", node.name, cp, node.asn) for node in c.nodes]
    out += _k8s_peering_requests(inv)
    # a dual-homed server is one Ethernet segment: its number and the LACP system id
    es = int_pool("ethernet_segment", p.ethernet_segment.first, p.ethernet_segment.last)
    sysmac = mac_pool("lacp_system_mac", p.lacp_system_mac, LACP_SYSTEM_IDS)
    for srv in inv.servers:
        if srv.multihomed:
            out.append(Request("es_id", srv.name, es))
            out.append(Request("lacp_system_id", srv.name, sysmac))
    return out


def k8s_peering_keys(inv: Inventory) -> tuple[list[str], list[str]]:
    """``VRF--LEAF`` of every leaf with Kubernetes nodes in a VRF (IPv4), and of those
    with a node that has an IPv6 address on a network with an IPv6 gateway: cluster order,
    then node order. A leaf peers with the nodes from that address, not from the anycast
    gateway every leaf shares."""
    nets = {n.name: n for n in inv.networks()}
    v4: dict[str, None] = {}
    v6: dict[str, None] = {}
    for c in inv.kubernetes.clusters:
        net = nets.get(c.network)
        if net is None or net.gateway4 is None:
            continue
        for node in c.nodes:
            key = f"{net.vrf}--{node.leaf}"
            v4[key] = None
            if node.address6 is not None and net.gateway6 is not None:
                v6[key] = None
    return list(v4), list(v6)


def _k8s_peering_requests(inv: Inventory) -> list[Request]:
    p = inv.pools
    v4, v6 = k8s_peering_keys(inv)
    out: list[Request] = []
    if p.k8s_peering is not None:
        pool = address_pool("k8s_peering", p.k8s_peering, skip_network=True)
        out += [Request("k8s_peering", k, pool) for k in v4]
    if p.k8s_peering_v6 is not None:
        pool6 = address_pool("k8s_peering_v6", p.k8s_peering_v6, skip_network=True)
        out += [Request("k8s_peering_v6", k, pool6) for k in v6]
    lb = int_pool("k8s_loopback", *K8S_LOOPBACKS)
    out += [Request("k8s_loopback", vrf, lb) for vrf in dict.fromkeys(k.split("--")[0] for k in v4)]
    return out


# ------------------------------------------------------------------ planning


@dataclass
class Plan:
    """The outcome of planning: every change, and the ledger that results."""

    changes: list[Change]
    ledger: Ledger
    requests: list[Request]
    values: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    """section -> key -> the planned value as its pool's int, for every requested key
    (what :meth:`allocations` reads, so the design parses no ledger text again)."""

    @property
    def changed(self) -> bool:
        """Whether writing the ledger would change the file's entries."""
        return any(c.action in ("added", "changed", "freed") for c in self.changes)

    def counts(self) -> dict[str, dict[str, int]]:
        """section -> action -> number of entries."""
        out: dict[str, dict[str, int]] = {}
        for c in self.changes:
            row = out.setdefault(c.section, {"added": 0, "kept": 0, "changed": 0, "stale": 0, "freed": 0})
            row[c.action] += 1
        return out

    def allocations(self) -> Allocations:
        """Typed access to the planned values."""
        return Allocations(self.ledger, {r.section: r.pool for r in self.requests}, self.values)


def _plan_section(
    section: str, reqs: list[Request], ledger: Ledger, prune: bool, problems: list[Problem]
) -> tuple[dict[str, Value], list[Change], dict[str, int]]:
    """The section's new entries, the changes, and the value of each request as an int."""
    existing = ledger.sections.get(section, {})
    if not reqs and not existing:
        return {}, [], {}
    pools = {r.pool.name: r.pool for r in reqs}
    # parse existing values with the pool of their request, or any pool of the section
    anypool = reqs[0].pool if reqs else None
    by_key = {r.key: r for r in reqs}
    old: dict[str, int] = {}
    mine: list[Problem] = []

    def bad(key: str, message: str) -> None:
        fname, line = ledger.locate(section, key)
        mine.append(Problem(fname, line, format_path((section, key)), message))

    for key, raw in existing.items():
        pool = by_key[key].pool if key in by_key else anypool
        if pool is None:
            # the whole section is gone; keep raw values as they are
            continue
        try:
            old[key] = pool.parse(raw)
        except ValueError as e:
            bad(key, f"not a {section} value: {e}")
    # two objects holding one value: only spines sharing the spine ASN may
    shared = {r.key for r in reqs if r.shared}
    holders: dict[int, str] = {}
    for k, v in old.items():
        first = holders.get(v)
        if first is None:
            holders[v] = k
        elif not (k in shared and first in shared):
            fname, line = ledger.locate(section, first)
            where = f"line {line}" if fname == ledger.locate(section, k)[0] else f"{fname}:{line}"
            bad(k, f"{pool_show(by_key, anypool, k, v)} is also held by {first} ({where}); "
                   "two objects cannot share a value: remove one entry and run `fabric plan`")
    # existing entries must lie in their pool (a pinned value replaces its entry)
    for r in reqs:
        if r.pinned is None and r.key in old and old[r.key] not in r.pool:
            bad(r.key, f"holds {r.pool.show(old[r.key])}, outside its pool {r.pool.name}; "
                       "pin it in the inventory or remove the entry")
    # 1. pinned values win, unless another object holds the value
    result: dict[str, int] = {}
    for r in reqs:
        if r.pinned is None:
            continue
        holder = holders.get(r.pinned)
        if holder is not None and holder != r.key and not (r.shared and holder in shared):
            bad(holder, f"{r.pool.show(r.pinned)} is pinned for {r.key} in the inventory but already allocated to "
                        f"{holder}: pin {holder} elsewhere, or remove this entry (`fabric plan --prune` if {holder} "
                        "is gone)")
        result[r.key] = r.pinned
    if mine:
        problems.extend(mine)
        return dict(existing), [], {}
    shown = dict(existing)
    changes: list[Change] = []
    # 2. existing entries stay where they are
    for r in reqs:
        if r.pinned is None and r.key in old:
            result[r.key] = old[r.key]
    # 3. new objects take the lowest free value of their pool
    used = set(old.values()) | set(result.values())
    free: dict[str, FreeList] = {}
    for r in reqs:
        if r.key in result:
            continue
        fl = free.get(r.pool.name)
        if fl is None:
            fl = free[r.pool.name] = FreeList(pools[r.pool.name], used)
        result[r.key] = fl.take(f"{section} {r.key}")
        used.add(result[r.key])
    out: dict[str, Value] = {}
    for r in reqs:
        v = result[r.key]
        new = r.pool.show(v)
        out[r.key] = new
        if r.key not in old:
            changes.append(Change(section, r.key, "added", None, new))
        elif old[r.key] != v:
            changes.append(Change(section, r.key, "changed", shown[r.key], new))
        else:
            changes.append(Change(section, r.key, "kept", shown[r.key], new))
    # 4. stale entries
    for key in existing:
        if key in by_key:
            continue
        if prune:
            changes.append(Change(section, key, "freed", existing[key], None))
        else:
            out[key] = existing[key]
            changes.append(Change(section, key, "stale", existing[key], existing[key]))
    return out, changes, result


def pool_show(by_key: dict[str, Request], anypool: IntPool | None, key: str, value: int) -> str:
    """A parsed value as the ledger writes it."""
    pool = by_key[key].pool if key in by_key else anypool
    return str(pool.show(value)) if pool is not None else str(value)


def plan_allocations(inv: Inventory, ledger: Ledger, prune: bool = False) -> Plan:
    """Plan the ledger for ``inv`` starting from ``ledger``. Pure: writes nothing.

    Raises :class:`~fabric.errors.LedgerInputError` listing every entry of ``ledger``
    that is malformed, outside its pool, holds a value another object holds, or holds a
    value the inventory pins for another object."""
    reqs = requests(inv)
    by_section: dict[str, list[Request]] = {s: [] for s in SECTIONS}
    for r in reqs:
        by_section[r.section].append(r)
    new = Ledger(fabric=inv.fabric.name)
    changes: list[Change] = []
    problems: list[Problem] = list(ledger.problems)
    values: dict[str, dict[str, int]] = {}
    for section in SECTIONS:
        entries, ch, ints = _plan_section(section, by_section[section], ledger, prune, problems)
        if entries:
            new.sections[section] = entries
        changes.extend(ch)
        values[section] = ints
    if problems:
        raise LedgerInputError(problems)
    if ledger.fabric and ledger.fabric != inv.fabric.name:
        changes.append(Change("fabric", "name", "changed", ledger.fabric, inv.fabric.name))
    return Plan(changes, new, reqs, values)


# ------------------------------------------------------------------ typed access


class Allocations:
    """Read-only, typed view of a planned ledger for the design stage.

    Addresses and prefixes come from the plan's ints (``values``) where it has them, so
    the design parses no ledger text; a key the plan did not request is read from the
    ledger's text."""

    def __init__(self, ledger: Ledger, pools: dict[str, IntPool], values: dict[str, dict[str, int]] | None = None) -> None:
        self._s = ledger.sections
        self._pools = pools
        self._v = values or {}

    def _get(self, section: str, key: str) -> Value:
        try:
            return self._s[section][key]
        except KeyError:
            raise LedgerError(f"no {section} allocated for {key}; run `fabric plan`") from None

    def _int(self, section: str, key: str) -> int | None:
        """The planned value as its pool's int (None: not planned here, read the text)."""
        values = self._v.get(section)
        return values.get(key) if values is not None else None

    def _ipv4(self, section: str, key: str) -> IPv4Address:
        i = self._int(section, key)
        return IPv4Address(i) if i is not None else IPv4Address(str(self._get(section, key)))

    def has(self, section: str, key: str) -> bool:
        return key in self._s.get(section, {})

    def site_id(self, name: str) -> int:
        return int(self._get("site_id", name))

    def multisite_vip(self, site: str) -> IPv4Address:
        """The anycast VTEP the border leaves of ``site`` share for DCI stitching."""
        return self._ipv4("vtep", f"site/{site}")

    def spine_id(self, name: str) -> int:
        return int(self._get("spine_id", name))

    def leaf_id(self, name: str) -> int:
        return int(self._get("leaf_id", name))

    def loopback(self, name: str) -> IPv4Address:
        return self._ipv4("loopback", name)

    def vtep(self, name: str) -> IPv4Address:
        return self._ipv4("vtep", name)

    def asn(self, name: str) -> int:
        return int(self._get("asn", name))

    def p2p(self, key: str) -> IPv4Network:
        return IPv4Network(str(self._get("p2p", key)))

    def p2p_address(self, key: str) -> int:
        """The network address of the /31 of ``key``, as an int (:meth:`p2p` without the object)."""
        i = self._int("p2p", key)
        return i if i is not None else int(self.p2p(key).network_address)

    def p2p_v6(self, key: str) -> IPv6Network | None:
        v = self._s.get("p2p_v6", {}).get(key)
        return IPv6Network(str(v)) if v is not None else None

    def p2p_v6_address(self, key: str) -> int | None:
        """The network address of the /127 of ``key`` as an int (None: none allocated)."""
        i = self._int("p2p_v6", key)
        if i is not None:
            return i
        net = self.p2p_v6(key)
        return int(net.network_address) if net is not None else None

    def network_vlan(self, name: str) -> int:
        return int(self._get("vlan", f"network/{name}"))

    def vrf_vlan(self, name: str) -> int:
        return int(self._get("vlan", f"vrf/{name}"))

    def l2vni(self, name: str) -> int:
        return int(self._get("l2vni", name))

    def l3vni(self, name: str) -> int:
        return int(self._get("l3vni", name))

    def node_asn(self, name: str) -> int:
        return int(self._get("node_asn", name))

    def es_id(self, server: str) -> int:
        """The Ethernet segment number of a dual-homed server."""
        return int(self._get("es_id", server))

    def lacp_system_id(self, server: str) -> str:
        """The LACP system id (lower-case colon MAC) of a dual-homed server."""
        return str(self._get("lacp_system_id", server))

    def k8s_peering(self, vrf: str, leaf: str) -> IPv4Address:
        """The address ``leaf`` peers with Kubernetes nodes from in ``vrf``."""
        return self._ipv4("k8s_peering", f"{vrf}--{leaf}")

    def k8s_peering_v6(self, vrf: str, leaf: str) -> IPv6Address | None:
        key = f"{vrf}--{leaf}"
        i = self._int("k8s_peering_v6", key)
        if i is not None:
            return IPv6Address(i)
        v = self._s.get("k8s_peering_v6", {}).get(key)
        return IPv6Address(str(v)) if v is not None else None

    def k8s_loopback(self, vrf: str) -> int:
        """The loopback number of ``vrf``'s Kubernetes peering address (same on every leaf)."""
        return int(self._get("k8s_loopback", vrf))

    def section(self, name: str) -> dict[str, Value]:
        """A copy of one section (key -> value as stored)."""
        return dict(self._s.get(name, {}))

    def items(self) -> Iterable[tuple[str, str, Value]]:
        for s, entries in self._s.items():
            for k, v in entries.items():
                yield s, k, v


