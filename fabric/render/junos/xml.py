"""Junos XML (for NETCONF ``load-configuration``) from the parsed curly-brace tree.

The XML follows Juniper's published YANG for the QFX family (``junos-qfx-conf-*``,
23.4R1): the root ``<configuration>`` is in the ``.../conf/root`` namespace and each
top-level hierarchy in its own module's namespace; lists carry their key leaves first
(``<name>`` for most lists); a presence container or an ``empty`` leaf is an empty
element; a leaf-list is one element per value.

Curly-brace text abbreviates several things the XML spells out, and the mapping below
lists each one explicitly (checked against the YANG with ``yanglint`` in the tests):

- list entries written as a bare name (``interfaces { et-0/0/48 { ... } }``);
- statements whose first argument is a child container (``family inet``, ``then accept``,
  ``from protocol direct``, ``load-balance per-packet``);
- keyed lists (``unit 0``, ``neighbor 10.0.0.1``, ``community NAME members X``);
- leaves that are containers in the schema (``vrf-target X`` is
  ``<vrf-target><community>X</community></vrf-target>``, ``route-distinguisher``,
  ``autonomous-system``, ``vtep-source-interface``, ``then local-preference``);
- ``route-filter PREFIX prefix-length-range /a-/b`` (a three-key list);
- bare values inside a block (prefix-list items, the interconnect ESI).

A statement that fits none of these shapes raises :class:`~fabric.errors.RenderError`
instead of producing XML the device would read differently.

``system`` and ``chassis`` are not part of the ten modules of Juniper's QFX YANG set that
the project checks against, so the ``.xml`` file leaves them out (``system`` holds the host
name and the NETCONF/SSH services, day-0 settings that a push over the management session
must not break anyway; ``chassis`` the aggregated-Ethernet device count of server LAGs,
which the netconf driver sends as text with ``system``). ``to_xml(..., outside_schema=True)``
includes them, unchecked. A consequence for deploy: load the ``.xml`` with
``replace``/``merge``, never ``override``, or the device loses those hierarchies.
"""

from __future__ import annotations

from fabric.errors import RenderError
from fabric.render.junos.tree import SLOT, MemoTree, SharedBlock, Slots, Stmt, unquote

__all__ = ["NAMESPACE_ROOT", "OUTSIDE_SCHEMA", "to_xml"]

NAMESPACE_BASE = "http://yang.juniper.net/junos-qfx/conf/"
NAMESPACE_ROOT = NAMESPACE_BASE + "root"

#: top-level hierarchies and their YANG module (junos-qfx-conf-<name>)
MODULES = frozenset({
    "interfaces", "forwarding-options", "policy-options", "protocols", "routing-instances",
    "routing-options", "switch-options", "vlans",
})
#: top-level hierarchies the schema set does not cover: written only on request
OUTSIDE_SCHEMA = frozenset({"system", "chassis"})

#: parent element -> list whose entries the curly text writes as a bare name
ANON_LIST: dict[str, str] = {"interfaces": "interface", "vlans": "vlan", "routing-instances": "instance"}

#: keywords whose first argument is a child element: ``family inet {`` -> <family><inet>
NESTED = frozenset({"family", "load-balance", "then", "from"})
#: (parent element, keyword) where a NESTED keyword is a plain leaf (``from { family inet; }``)
NOT_NESTED = frozenset({("from", "family")})

#: (parent element, keyword) -> lists keyed by ``name`` whose first argument is the key
LISTS = frozenset({
    ("interface", "unit"),
    ("inet", "address"),
    ("inet6", "address"),
    ("policy-options", "policy-statement"),
    ("policy-options", "prefix-list"),
    ("policy-options", "community"),
    ("policy-options", "as-list"),
    ("policy-statement", "term"),
    ("from", "prefix-list"),
    ("bgp", "group"),
    ("group", "neighbor"),
    ("vni-options", "vni"),
    ("instance", "interface"),
    ("lldp", "interface"),
    ("router-advertisement", "interface"),
    ("ntp", "server"),
    ("routing-options", "rib"),
    ("aggregate", "route"),
})

#: keyword -> the leaf inside the container the schema has where the text has a value
CONTAINER_LEAF: dict[str, str] = {
    "vrf-target": "community",
    "route-distinguisher": "rd-type",
    "autonomous-system": "as-number",
    "vtep-source-interface": "interface-name",
}
#: the same, only under a given parent element
CONTAINER_LEAF_IN: dict[tuple[str, str], str] = {("then", "local-preference"): "local-preference"}
#: (parent element, keyword) -> (element, leaf) where the text's keyword is not the
#: schema's name: ``ether-options { 802.3ad ae1; }`` is ``<ieee-802.3ad><bundle>ae1</bundle>``
RENAMED_LEAF: dict[tuple[str, str], tuple[str, str]] = {("ether-options", "802.3ad"): ("ieee-802.3ad", "bundle")}

#: ``then community ACTION NAME``: the actions the policy language has
COMMUNITY_ACTIONS = frozenset({"add", "delete", "set"})

#: parent element -> list of which every child statement is a bare key
BARE_LIST: dict[str, str] = {"prefix-list": "prefix-list-item", "name-server": "name-server"}
#: parent element -> (leaf for a bare value, keywords that are not bare values)
BARE_LEAF: dict[str, tuple[str, frozenset[str]]] = {
    "esi": ("identifier", frozenset({"all-active", "single-active", "port-active"})),
}


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _value(word: str) -> str:
    return _esc(unquote(word))


class _Writer:
    """Accumulates indented XML lines."""

    def __init__(self, slots: Slots = (), memo: MemoTree | None = None) -> None:
        self.out: list[str] = []
        self.slots = slots
        self.memo = memo

    def leaf(self, ind: str, tag: str, value: str | None) -> None:
        if value is None:
            self.out.append(f"{ind}<{tag}/>")
        else:
            self.out.append(f"{ind}<{tag}>{value}</{tag}>")

    def stmt(self, s: Stmt, parent: str, ind: str) -> None:
        words = s.words
        kw = words[0]
        out = self.out
        inner = ind + "  "

        if kw in BARE_LIST and parent not in BARE_LIST and s.children is not None and len(words) == 1:
            # name-server { 192.0.2.53; }: the entries are the list itself, no wrapper
            for c in s.children:
                self.stmt(c, kw, ind)
            return

        anon = ANON_LIST.get(parent)
        if anon is not None:
            out.append(f"{ind}<{anon}>")
            self.leaf(inner, "name", _value(kw))
            self._rest(words[1:], s, anon, inner)
            out.append(f"{ind}</{anon}>")
            return

        bare = BARE_LIST.get(parent)
        if bare is not None:
            if len(words) != 1 or s.children or s.values:
                raise RenderError(f"XML: unexpected statement {' '.join(words)!r} in {parent}")
            out.append(f"{ind}<{bare}>")
            self.leaf(inner, "name", _value(kw))
            out.append(f"{ind}</{bare}>")
            return

        bare_leaf = BARE_LEAF.get(parent)
        if bare_leaf is not None and kw not in bare_leaf[1]:
            if len(words) != 1 or s.children is not None or s.values:
                raise RenderError(f"XML: unexpected statement {' '.join(words)!r} in {parent}")
            self.leaf(ind, bare_leaf[0], _value(kw))
            return

        if kw in NESTED and len(words) > 1 and (parent, kw) not in NOT_NESTED:
            self.nested(kw, [s], ind)
            return

        if (parent, kw) in LISTS:
            if len(words) < 2:
                raise RenderError(f"XML: {kw} in {parent} needs a name")
            out.append(f"{ind}<{kw}>")
            self.leaf(inner, "name", _value(words[1]))
            self._rest(words[2:], s, kw, inner)
            out.append(f"{ind}</{kw}>")
            return

        if kw == "route-filter" and parent == "from":
            if len(words) != 4 or s.children is not None or s.values:
                raise RenderError(f"XML: route-filter needs 'PREFIX MATCH VALUE', got {' '.join(words)!r}")
            out.append(f"{ind}<route-filter>")
            self.leaf(inner, "address", _value(words[1]))
            self.leaf(inner, "choice-ident", _value(words[2]))
            self.leaf(inner, "choice-value", _value(words[3]))
            out.append(f"{ind}</route-filter>")
            return

        if kw == "community" and parent == "then":
            # then community add|delete|set NAME: a list keyed (choice-ident, choice-value,
            # community-name); the action takes no value of its own
            if len(words) != 3 or words[1] not in COMMUNITY_ACTIONS or s.children is not None or s.values:
                raise RenderError(f"XML: community needs 'add|delete|set NAME', got {' '.join(words)!r}")
            out.append(f"{ind}<community>")
            self.leaf(inner, "choice-ident", words[1])
            self.leaf(inner, "choice-value", "")
            self.leaf(inner, "community-name", _value(words[2]))
            out.append(f"{ind}</community>")
            return

        renamed = RENAMED_LEAF.get((parent, kw))
        if renamed is not None and len(words) == 2 and s.children is None and s.values is None:
            out.append(f"{ind}<{renamed[0]}>")
            self.leaf(inner, renamed[1], _value(words[1]))
            out.append(f"{ind}</{renamed[0]}>")
            return

        wrapped = CONTAINER_LEAF_IN.get((parent, kw)) or CONTAINER_LEAF.get(kw)
        if wrapped is not None and len(words) == 2 and s.children is None and s.values is None:
            out.append(f"{ind}<{kw}>")
            self.leaf(inner, wrapped, _value(words[1]))
            out.append(f"{ind}</{kw}>")
            return

        if s.values is not None:
            if len(words) != 1:
                raise RenderError(f"XML: no mapping for list statement {' '.join(words)!r} in {parent}")
            for v in s.values:
                self.leaf(ind, kw, _value(v))
            return
        if s.children is not None:
            if len(words) != 1:
                raise RenderError(f"XML: no mapping for block {' '.join(words)!r} in {parent}")
            if not s.children:
                self.leaf(ind, kw, None)
                return
            out.append(f"{ind}<{kw}>")
            self.block(s.children, kw, inner)
            out.append(f"{ind}</{kw}>")
            return
        if len(words) == 1:
            self.leaf(ind, kw, None)
        elif len(words) == 2:
            self.leaf(ind, kw, _value(words[1]))
        else:
            raise RenderError(f"XML: no mapping for statement {' '.join(words)!r} in {parent}")

    def nested(self, kw: str, group: list[Stmt], ind: str) -> None:
        """``family inet {..}`` and ``family inet6 {..}`` share one ``<family>`` element."""
        self.out.append(f"{ind}<{kw}>")
        for s in group:
            self.stmt(Stmt(s.words[1:], s.children, s.values), kw, ind + "  ")
        self.out.append(f"{ind}</{kw}>")

    def block(self, children: list[Stmt], parent: str, ind: str) -> None:
        """The children of one element; sibling NESTED statements with the same keyword
        are merged, because the schema has one container where the text repeats it."""
        done: set[int] = set()
        for i, c in enumerate(children):
            if i in done:
                continue
            kw = c.words[0]
            if kw == SLOT:
                text = self._slot(c).xml_text(parent, ind, _block_lines)
                if text:
                    self.out.append(text)  # one item of many lines: "\n".join gives the same
                continue
            if (
                kw in NESTED
                and len(c.words) > 1
                and (parent, kw) not in NOT_NESTED
                and parent not in BARE_LIST
                and parent not in ANON_LIST
            ):
                group = [c]
                for j in range(i + 1, len(children)):
                    o = children[j]
                    if o.words[0] == kw and len(o.words) > 1:
                        group.append(o)
                        done.add(j)
                self.nested(kw, group, ind)
            elif self.memo is not None and c.children:
                # a block's lines, kept by its text as one item (StatementMemo); a leaf
                # statement is cheaper to print than to look up
                kept = self.memo.memo.xml_items
                key = (self.memo.text(c), parent, ind)
                hit = kept.get(key)
                if hit is None:
                    out = self.out
                    start = len(out)
                    self.stmt(c, parent, ind)
                    hit = kept[key] = "\n".join(out[start:])
                    del out[start:]
                if hit:
                    self.out.append(hit)
            else:
                self.stmt(c, parent, ind)

    def _slot(self, s: Stmt) -> SharedBlock:
        try:
            return self.slots[int(s.words[1])]
        except (IndexError, KeyError, ValueError):
            raise RenderError(f"placeholder {' '.join(s.words)!r} names no shared block") from None

    def _rest(self, rest: tuple[str, ...], s: Stmt, element: str, ind: str) -> None:
        """The body of a list entry: an inline statement after the key (``community X
        members Y;``), or the block's children."""
        if rest:
            if s.children is not None:
                raise RenderError(f"XML: no mapping for {element} with both words and a block")
            self.stmt(Stmt(rest, None, s.values), element, ind)
            return
        if s.values is not None:
            raise RenderError(f"XML: no mapping for a value list directly on {element}")
        self.block(s.children or [], element, ind)


def _block_lines(stmts: list[Stmt], parent: str, ind: str) -> list[str]:
    """The XML lines of a shared block's statements inside ``parent`` at ``ind``. Its
    statements are printed on their own, so none may be one the writer merges with a
    sibling (``family``, ``then``, ...): those must stay in the device's own text."""
    for s in stmts:
        if s.words[0] in NESTED:
            raise RenderError(f"XML: {s.words[0]!r} cannot start a shared block (it merges with its siblings)")
    w = _Writer()
    w.block(stmts, parent, ind)
    return w.out


def to_xml(stmts: list[Stmt], *, outside_schema: bool = False, slots: Slots = (),
           memo: MemoTree | None = None) -> str:
    """The configuration as Junos XML in Juniper's YANG namespaces.

    ``system`` is left out unless ``outside_schema`` (then it is written in the
    ``.../conf/system`` namespace by the same rules; Juniper's QFX schema set used here
    cannot check it). Placeholders ``__slot__ N;`` print the XML of ``slots[N]``. With
    ``memo`` (``stmts`` being ``memo.stmts``, see
    :class:`~fabric.render.junos.tree.StatementMemo`), a block printed before in the same
    place is not printed again."""
    w = _Writer(slots, memo)
    w.out.append(f'<configuration xmlns="{NAMESPACE_ROOT}">')
    for s in stmts:
        kw = s.keyword
        if kw in OUTSIDE_SCHEMA and not outside_schema:
            continue
        if kw not in MODULES | OUTSIDE_SCHEMA or len(s.words) != 1 or s.children is None:
            raise RenderError(f"XML: no YANG module for top-level statement {' '.join(s.words)!r}")
        w.out.append(f'  <{kw} xmlns="{NAMESPACE_BASE}{kw}">')
        w.block(s.children, kw, "    ")
        w.out.append(f"  </{kw}>")
    w.out.append("</configuration>")
    w.out.append("")
    return "\n".join(w.out)
