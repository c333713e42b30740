"""The Junos test device's configuration database: one tree for set, curly-brace and XML.

A real Junos device knows its schema; this test device knows the part of it the project's
renderers and Junos' own display rules need, as explicit tables (below). Every input form is
normalised into the same tree of :class:`Node`:

- a **container** (``system``, ``unit 0``, ``family inet``, ``neighbor 10.0.0.1``, a flag
  such as ``teardown;``) has ``children`` (possibly empty) keyed by the child's identity;
- a **value leaf** (``mtu 9216;``, ``description "x y";``) has identity ``(keyword,)`` and
  one value, so merging ``mtu 9100`` replaces it;
- a **leaf-list** (``members [ a b ];``, ``import X;``) has ``values``; merging adds values.

Identity rules: a list keyword (``unit``, ``neighbor``, ``family`` ...) takes its first
argument as the key; the entries of ``interfaces``/``vlans``/``routing-instances`` are
keyed by their name; any other block is keyed by all its words. Junos abbreviations are
expanded on input and folded again on output: ``then accept;`` is ``then { accept; }``,
``community X members Y;`` is ``community X { members Y; }``, ``vrf-target X;`` is the
XML ``<vrf-target><community>X</community></vrf-target>``.

A ``set`` line is split into statements by the same tables, guided by what the tree
already holds (``set ... multipath multiple-as`` descends into an existing
``multipath { }``); a keyword the tables do not know is a container when three or more
words follow it, a value leaf when exactly one does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lxml import etree

from fabric.render.junos.tree import ParseError, Stmt, parse, unquote

__all__ = [
    "ConfigError",
    "Node",
    "apply_set",
    "diff",
    "from_text",
    "from_xml",
    "merge",
    "to_set",
    "to_text",
    "to_xml",
]


class ConfigError(Exception):
    """Input the device rejects; ``str()`` is the Junos-style message."""


#: containers whose entries are written as a bare name, and the XML element of an entry
ANON: dict[str, str] = {"interfaces": "interface", "vlans": "vlan", "routing-instances": "instance"}
#: keywords whose first argument is the entry's key (``unit 0``), in any context ...
LISTS = frozenset({
    "unit", "family", "neighbor", "group", "term", "address", "policy-statement", "prefix-list",
    "community", "as-list", "interface", "server", "rib", "area", "user", "file", "host", "class",
    "route", "trap-group", "client", "peer", "vrf", "filter", "instance", "profile", "logical-systems",
    "policer", "routing-instance", "ethernet-segment", "tunnel-destination",
})
#: ... except in these contexts (parent keyword, keyword): there it is an ordinary statement
NOT_LISTS = frozenset({("from", "family"), ("from", "community"), ("ip-prefix-routes", "vni")})
#: ``then community add|delete|set NAME``: one entry per (action, name), the XML has
#: ``<choice-ident>``, an empty ``<choice-value>`` and ``<community-name>``
THEN_COMMUNITY = ("then", "community")
#: lists only in one context: (parent keyword, keyword)
LISTS_IN = frozenset({("vni-options", "vni")})
#: keywords whose whole statement is the key (route-filter PREFIX MATCH [VALUE])
WHOLE_KEY = frozenset({"route-filter", "prefix-list-filter", "source-address-filter"})
#: containers whose one child the curly text writes on the same line (``then accept;``)
NESTED = frozenset({"then", "from", "load-balance", "to"})
#: leaf-lists (``members [ a b ];``), in any context / only in one context
LEAF_LISTS = frozenset({
    "members", "allow", "import", "export", "vrf-import", "vrf-export", "extended-vni-list",
    "vni-list", "apply-groups", "policy", "authentication-order", "interconnected-vni-list",
})
LEAF_LISTS_IN = frozenset({("from", "community"), ("from", "protocol"), ("to", "community")})
#: containers a set line may name with a single word after them (``set system services ssh``)
CONTAINERS = frozenset({
    "system", "services", "netconf", "ssh", "protocols", "bgp", "evpn", "ospf", "ospf3", "lldp",
    "routing-options", "forwarding-options", "policy-options", "switch-options", "vxlan-routing",
    "multipath", "bfd-liveness-detection", "forwarding-table", "chained-composite-next-hop",
    "ingress", "ip-prefix-routes", "prefix-limit", "unicast", "signaling", "vni-options",
    "vlan", "ethernet-switching", "snmp", "login", "syslog", "chassis", "aggregated-devices",
    "ethernet", "root-authentication", "esi", "router-advertisement", "ntp", "name-server",
    "interfaces", "vlans", "routing-instances", "vxlan", "static", "then", "from", "to",
    "load-balance", "graceful-restart", "authentication", "management-instance", "ether-options",
    "aggregated-ether-options", "lacp", "firewall", "l2-learning", "evpn-vxlan", "interconnect",
    "duplicate-mac-detection", "irb-symmetric-routing",
})
#: containers whose children are bare values (``name-server { 192.0.2.53; }``) and the XML
#: element each child is written as
BARE: dict[str, str] = {"prefix-list": "prefix-list-item", "name-server": "name-server"}
#: value leaves that the XML schema wraps in a container (``vrf-target X`` -> <community>)
WRAPPED: dict[str, str] = {
    "vrf-target": "community",
    "route-distinguisher": "rd-type",
    "autonomous-system": "as-number",
    "vtep-source-interface": "interface-name",
}
WRAPPED_IN: dict[tuple[str, str], str] = {("then", "local-preference"): "local-preference"}
#: value leaves whose XML element has another name (``802.3ad ae1`` -> <ieee-802.3ad><bundle>)
RENAMED: dict[tuple[str, str], tuple[str, str]] = {("ether-options", "802.3ad"): ("ieee-802.3ad", "bundle")}
RENAMED_XML: dict[tuple[str, str], tuple[str, str]] = {(c, e): (kw, leaf) for (c, kw), (e, leaf) in RENAMED.items()}
#: the ESI container holds its identifier as a bare value
ESI_FLAGS = frozenset({"all-active", "single-active", "port-active"})

NAMESPACE_ROOT = "http://yang.juniper.net/junos/conf/root"

Key = tuple[str, ...]


@dataclass
class Node:
    """One statement. ``children`` is None for a value leaf or a leaf-list.

    ``op`` is only set in a *patch* (a loaded configuration before it is merged):
    ``"replace"`` or ``"delete"`` from ``replace:``/``delete:`` tags or XML attributes."""

    words: tuple[str, ...]
    children: dict[Key, Node] | None = None
    values: list[str] | None = None
    ctx: str = ""
    op: str | None = None

    @property
    def kind(self) -> str:
        if self.values is not None:
            return "leaf-list"
        if self.children is None:
            return "leaf"
        return "container"

    @property
    def key(self) -> Key:
        if self.children is None:
            return self.words[:1]
        return self.words

    def copy(self) -> Node:
        return Node(
            self.words,
            None if self.children is None else {k: c.copy() for k, c in self.children.items()},
            None if self.values is None else list(self.values),
            self.ctx,
            None,
        )

    def same(self, other: Node) -> bool:
        """Equal as configuration (the order of keyed children does not matter)."""
        if self is other:
            return True
        if self.kind != other.kind or self.words != other.words:
            return False
        if self.values is not None:
            return self.values == other.values
        if self.children is None or other.children is None:
            return True
        if self.children.keys() != other.children.keys():
            return False
        return all(c.same(other.children[k]) for k, c in self.children.items())


def root() -> Node:
    return Node((), {}, None, "")


def child_ctx(words: tuple[str, ...], parent_ctx: str) -> str:
    """The context (the keyword the tables look up) that a statement's children see."""
    if parent_ctx in ANON:
        return ANON[parent_ctx]
    if words[0] == "family" and len(words) > 1:
        return words[1]
    return words[0]


def is_list(kw: str, ctx: str) -> bool:
    if (ctx, kw) in NOT_LISTS:
        return False
    return kw in LISTS or (ctx, kw) in LISTS_IN


def is_leaf_list(kw: str, ctx: str) -> bool:
    return kw in LEAF_LISTS or (ctx, kw) in LEAF_LISTS_IN


_NEEDS_QUOTES = re.compile(r'[\s{};\[\]"#\\]|^$')


def canon(word: str) -> str:
    """A value as Junos prints it: quoted only when it has to be."""
    value = unquote(word)
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


# ---------------------------------------------------------------------------- building


def _container(words: tuple[str, ...], ctx: str, op: str | None = None) -> Node:
    return Node(words, {}, None, ctx, op)


def _add(parent: Node, node: Node) -> Node:
    """Put ``node`` into a patch tree under ``parent``, merging a repeated statement."""
    assert parent.children is not None
    key = node.key
    old = parent.children.get(key)
    if old is None or node.op is not None or old.op is not None or old.kind != node.kind:
        parent.children.pop(key, None)
        parent.children[key] = node
        return node
    if node.values is not None and old.values is not None:
        old.values.extend(v for v in node.values if v not in old.values)
        return old
    if node.children is not None and old.children is not None:
        for child in node.children.values():
            _add(old, child)
        return old
    parent.children[key] = node
    return node


def _stmt(parent: Node, s: Stmt, ctx: str) -> None:
    """Normalise one parsed curly-brace statement into ``parent`` (a patch tree)."""
    words = s.words
    op: str | None = None
    while words and words[0] in ("replace:", "delete:", "inactive:", "active:", "protect:", "unprotect:"):
        if words[0] in ("replace:", "delete:"):
            op = words[0][:-1]
        words = words[1:]
    if not words:
        raise ConfigError("syntax error: a tag without a statement")
    words = (words[0], *(canon(w) for w in words[1:]))
    kw = words[0]
    if ctx in ANON:
        node = _container((canon(kw),), ctx, op)
        _rest(node, words[1:], s, child_ctx(words, ctx))
        _add(parent, node)
        return
    if kw in NESTED and len(words) > 1:
        node = _container((kw,), ctx, op)
        _stmt(node, Stmt(words[1:], s.children, s.values), kw)
        _add(parent, node)
        return
    if (kw in WHOLE_KEY or (ctx, kw) == THEN_COMMUNITY) and s.children is None and s.values is None:
        _add(parent, _container(words, ctx, op))
        return
    if is_list(kw, ctx) and len(words) >= 2:
        node = _container(words[:2], ctx, op)
        _rest(node, words[2:], s, child_ctx(words[:2], ctx))
        _add(parent, node)
        return
    if ctx in BARE and len(words) == 1 and s.children is None and s.values is None:
        _add(parent, _container((canon(kw),), ctx, op))
        return
    if s.values is not None:
        if len(words) != 1:
            raise ConfigError(f"syntax error: {' '.join(words)} [ ... ]")
        _add(parent, Node((kw,), None, [canon(v) for v in s.values], ctx, op))
        return
    if s.children is not None:
        node = _container(words, ctx, op)
        cctx = child_ctx(words, ctx)
        for c in s.children:
            _stmt(node, c, cctx)
        _add(parent, node)
        return
    if len(words) == 1:
        _add(parent, _container(words, ctx, op))
    elif is_leaf_list(kw, ctx):
        _add(parent, Node((kw,), None, list(words[1:]), ctx, op))
    elif len(words) == 2:
        _add(parent, Node(words, None, None, ctx, op))
    else:
        raise ConfigError(f"syntax error: {' '.join(words)}")


def _rest(node: Node, rest: tuple[str, ...], s: Stmt, ctx: str) -> None:
    """The body of a keyed entry: an inline statement after the key, or the block."""
    if rest:
        _stmt(node, Stmt(rest, s.children, s.values), ctx)
    elif s.values is not None:
        raise ConfigError(f"syntax error: a value list directly on {' '.join(node.words)}")
    else:
        for c in s.children or ():
            _stmt(node, c, ctx)


def from_text(text: str) -> Node:
    """A patch tree from curly-brace text (``replace:``/``delete:`` tags kept as ops)."""
    try:
        stmts = parse(text)
    except ParseError as e:
        raise ConfigError(f"syntax error: {e}") from None
    top = root()
    for s in stmts:
        _stmt(top, s, "")
    return top


# ---------------------------------------------------------------------------- set lines

_SET_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s"]+|"')


def _split(line: str) -> list[str]:
    tokens = _SET_TOKEN.findall(line)
    if tokens and tokens[-1] == '"':
        raise ConfigError(f"syntax error: unterminated quoted string: {line}")
    return tokens


def _set_path(tree: Node, words: list[str]) -> list[Node]:
    """Split the words of one ``set`` line into the statements from the root down.
    The last node is the leaf (or leaf-list / flag) the line sets."""
    out: list[Node] = []
    ctx = ""
    guide: Node | None = tree
    i = 0
    n = len(words)
    while i < n:
        kw = words[i]
        rem = n - i
        existing = guide.children if guide is not None and guide.children is not None else {}
        take: int
        if ctx in ANON:
            take = 1
        elif kw in NESTED:
            take = 1
        elif kw in WHOLE_KEY or (ctx, kw) == THEN_COMMUNITY:
            take = rem
        elif is_list(kw, ctx):
            if rem < 2:
                raise ConfigError(f"syntax error: {kw} needs a name")
            take = 2
        elif is_leaf_list(kw, ctx) and rem >= 2:
            out.append(Node((kw,), None, [canon(w) for w in words[i + 1 :]], ctx))
            return out
        elif rem == 1:
            take = 1
        elif (kw,) in existing and existing[(kw,)].children is not None:
            take = 1
        elif kw in CONTAINERS or ctx in BARE:
            take = 1
        elif rem == 2:
            out.append(Node((kw, canon(words[i + 1])), None, None, ctx))
            return out
        else:
            take = 1
        stmt = (kw if ctx not in ANON else canon(kw), *(canon(w) for w in words[i + 1 : i + take]))
        node = _container(stmt, ctx)
        out.append(node)
        guide = existing.get(node.key)
        ctx = child_ctx(stmt, ctx)
        i += take
    return out


def apply_set(tree: Node, text: str) -> None:
    """Apply ``set``/``delete`` lines to ``tree`` in place (``load set``)."""
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = _split(line)
        verb, path = words[0], words[1:]
        try:
            if not path:
                raise ConfigError("syntax error: nothing after the verb")
            if verb == "set":
                chain = _set_path(tree, path)
                patch = root()
                at = patch
                for node in chain:
                    at = _add(at, node)
                merge(tree, patch)
            elif verb == "delete":
                _delete(tree, path)
            else:
                raise ConfigError(f"syntax error: {verb!r} is not supported by this test device")
        except ConfigError as e:
            errors.append(f"line {number}: {e}: {line}")
    if errors:
        raise ConfigError("\n".join(errors))


def _delete(tree: Node, words: list[str]) -> None:
    """``delete PATH``: remove the statement PATH names (a leaf-list value, a leaf, a block)."""
    node = tree
    i = 0
    n = len(words)
    while i < n:
        assert node.children is not None
        ch = node.children
        match: Node | None = None
        used = 0
        for take in range(min(n - i, 4), 0, -1):
            hit = ch.get(tuple(canon(w) for w in words[i : i + take]))
            if hit is not None:
                match, used = hit, take
                break
        if match is None:
            raise ConfigError(f"warning: statement not found: {' '.join(words)}")
        rest = words[i + used :]
        if match.children is None:
            if match.values is not None and rest:
                for v in rest:
                    if canon(v) in match.values:
                        match.values.remove(canon(v))
                if not match.values:
                    del ch[match.key]
            else:
                del ch[match.key]
            return
        if not rest:
            del ch[match.key]
            return
        node = match
        i += used
    raise ConfigError(f"warning: statement not found: {' '.join(words)}")


# ---------------------------------------------------------------------------- XML

_TRUE_OPS = {"delete": "delete", "remove": "delete", "replace": "replace", "create": None, "merge": None}


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _op(el: etree._Element) -> str | None:
    for name, value in el.attrib.items():
        local = etree.QName(name).localname
        if local == "operation":
            return _TRUE_OPS.get(str(value))
        if local in ("delete", "replace") and value == local:
            return local
    return None


def _text(el: etree._Element) -> str:
    return (el.text or "").strip()


def _xml_el(parent: Node, el: etree._Element, ctx: str) -> None:
    tag = _local(el.tag)
    if not tag:
        return  # a comment or processing instruction
    kids = [k for k in el if isinstance(k.tag, str)]
    op = _op(el)
    if ctx in ANON and tag == ANON[ctx]:
        name = next((k for k in kids if _local(k.tag) == "name"), None)
        if name is None:
            raise ConfigError(f"syntax error: <{tag}> without <name>")
        node = _container((canon(_text(name)),), ctx, op)
        for k in kids:
            if k is not name:
                _xml_el(node, k, tag)
        _add(parent, node)
        return
    if tag == "family" and ctx not in ("from", "to"):
        for k in kids:
            ktag = _local(k.tag)
            node = _container(("family", ktag), ctx, _op(k) or op)
            for kk in k:
                _xml_el(node, kk, ktag)
            _add(parent, node)
        return
    if (ctx in BARE and tag == BARE[ctx]) or (tag == "name-server" and ctx != "name-server" and kids):
        name = next((k for k in kids if _local(k.tag) == "name"), None)
        value = _text(name) if name is not None else _text(el)
        if tag == "name-server" and ctx != "name-server":
            holder = _container(("name-server",), ctx)
            _add(holder, _container((canon(value),), "name-server", op))
            _add(parent, holder)
        else:
            _add(parent, _container((canon(value),), ctx, op))
        return
    if (ctx, tag) == THEN_COMMUNITY and kids:
        parts = {_local(k.tag): _text(k) for k in kids}
        words = (parts.get("choice-ident", ""), parts.get("choice-value", ""), parts.get("community-name", ""))
        _add(parent, _container((tag, *(canon(w) for w in words if w)), ctx, op))
        return
    if tag in WHOLE_KEY and kids:
        words = tuple(canon(_text(k)) for k in kids)
        _add(parent, _container((tag, *words), ctx, op))
        return
    if kids and _local(kids[0].tag) == "name" and (is_list(tag, ctx) or len(kids) >= 1):
        node = _container((tag, canon(_text(kids[0]))), ctx, op)
        cctx = child_ctx(node.words, ctx)
        for k in kids[1:]:
            _xml_el(node, k, cctx)
        _add(parent, node)
        return
    renamed = RENAMED_XML.get((ctx, tag))
    if renamed is not None and len(kids) == 1 and _local(kids[0].tag) == renamed[1] and not len(kids[0]):
        _add(parent, Node((renamed[0], canon(_text(kids[0]))), None, None, ctx, op))
        return
    wrapped = WRAPPED_IN.get((ctx, tag)) or WRAPPED.get(tag)
    if wrapped is not None and len(kids) == 1 and _local(kids[0].tag) == wrapped and not len(kids[0]):
        _add(parent, Node((tag, canon(_text(kids[0]))), None, None, ctx, op))
        return
    if tag == "esi" and kids:
        node = _container(("esi",), ctx, op)
        for k in kids:
            ktag = _local(k.tag)
            if ktag == "identifier":
                _add(node, _container((canon(_text(k)),), "esi"))
            else:
                _xml_el(node, k, "esi")
        _add(parent, node)
        return
    if kids:
        node = _container((tag,), ctx, op)
        for k in kids:
            _xml_el(node, k, tag)
        _add(parent, node)
        return
    text = _text(el)
    if not text:
        _add(parent, _container((tag,), ctx, op))
    elif is_leaf_list(tag, ctx):
        _add(parent, Node((tag,), None, [canon(text)], ctx, op))
    else:
        _add(parent, Node((tag, canon(text)), None, None, ctx, op))


def from_xml(xml: str | etree._Element) -> Node:
    """A patch tree from a ``<configuration>`` element (namespaces ignored; Junos
    ``delete="delete"``/``replace="replace"`` and NETCONF ``operation=`` attributes kept)."""
    if isinstance(xml, str):
        try:
            el = etree.fromstring(xml.encode())
        except etree.XMLSyntaxError as e:
            raise ConfigError(f"syntax error: {e}") from None
    else:
        el = xml
    top = root()
    if _local(el.tag) != "configuration":
        el = next((k for k in el.iter() if _local(k.tag) == "configuration"), el)
    kids = [k for k in el if isinstance(k.tag, str)]
    if len(kids) == 1 and _local(kids[0].tag) == "configuration":
        el = kids[0]  # ncclient wraps what it is given in <configuration> again
    for k in el:
        _xml_el(top, k, "")
    return top


# ---------------------------------------------------------------------------- merge


def merge(target: Node, patch: Node) -> None:
    """``load merge``/``load replace``: apply a patch tree (with its ops) to ``target``."""
    assert target.children is not None and patch.children is not None
    for key, p in patch.children.items():
        old = target.children.get(key)
        if p.op == "delete":
            if old is not None:
                if p.values is not None and old.values is not None:
                    old.values = [v for v in old.values if v not in p.values]
                    if old.values:
                        continue
                del target.children[key]
            continue
        if p.op == "replace" or old is None or old.kind != p.kind:
            target.children[key] = strip(p)
            continue
        if p.values is not None and old.values is not None:
            old.values.extend(v for v in p.values if v not in old.values)
        elif p.children is not None:
            merge(old, p)
        else:
            target.children[key] = strip(p)


def strip(patch: Node) -> Node:
    """A patch as a plain configuration (``load override``): ops dropped, deletes removed."""
    out = Node(patch.words, None, None if patch.values is None else list(patch.values), patch.ctx)
    if patch.children is not None:
        out.children = {k: strip(c) for k, c in patch.children.items() if c.op != "delete"}
    return out


# ---------------------------------------------------------------------------- output


def _fold(node: Node) -> Node | None:
    """The one child a NESTED container or a ``community X`` entry prints inline with."""
    if node.children is None or len(node.children) != 1:
        return None
    if node.words[0] in NESTED or (node.words[0] == "community" and node.ctx == "policy-options"):
        (child,) = node.children.values()
        if child.children is None or not child.children:
            return child
    return None


def _line(node: Node) -> str:
    if node.values is not None:
        if len(node.values) == 1:
            return f"{node.words[0]} {node.values[0]};"
        return f"{node.words[0]} [ {' '.join(node.values)} ];"
    if node.children is None or not node.children:
        return " ".join(node.words) + ";"
    inner = _fold(node)
    if inner is not None:
        return " ".join(node.words) + " " + _line(inner)
    return " ".join(node.words) + " {"


def stmt_lines(node: Node, indent: int) -> Iterator[tuple[int, str]]:
    """(indent level, text) lines of one statement in curly-brace form."""
    head = _line(node)
    yield indent, head
    if head.endswith("{"):
        assert node.children is not None
        for c in node.children.values():
            yield from stmt_lines(c, indent + 1)
        yield indent, "}"


def to_text(tree: Node) -> str:
    out: list[str] = []
    assert tree.children is not None
    for c in tree.children.values():
        out.extend("    " * lvl + s for lvl, s in stmt_lines(c, 0))
    return "\n".join(out) + ("\n" if out else "")


def to_set(tree: Node) -> str:
    out: list[str] = []

    def walk(prefix: str, node: Node) -> None:
        assert node.children is not None
        for c in node.children.values():
            path = prefix + " ".join(c.words)
            if c.values is not None:
                out.extend(f"{path} {v}" for v in c.values)
            elif c.children:
                walk(path + " ", c)
            else:
                out.append(path)

    walk("set ", tree)
    return "\n".join(out) + ("\n" if out else "")


def _xml_node(parent: etree._Element, node: Node) -> None:
    kw = node.words[0]
    ctx = node.ctx
    if node.values is not None:
        for v in node.values:
            etree.SubElement(parent, kw).text = unquote(v)
        return
    if node.children is None:
        renamed = RENAMED.get((ctx, kw))
        if renamed is not None:
            etree.SubElement(etree.SubElement(parent, renamed[0]), renamed[1]).text = unquote(node.words[1])
            return
        wrapped = WRAPPED_IN.get((ctx, kw)) or WRAPPED.get(kw)
        el = etree.SubElement(parent, kw)
        if wrapped is not None:
            etree.SubElement(el, wrapped).text = unquote(node.words[1])
        else:
            el.text = unquote(node.words[1])
        return
    if kw == "name-server" and len(node.words) == 1 and node.children:
        for c in node.children.values():
            etree.SubElement(etree.SubElement(parent, "name-server"), "name").text = unquote(c.words[0])
        return
    if ctx in ANON:
        el = etree.SubElement(parent, ANON[ctx])
        etree.SubElement(el, "name").text = unquote(kw)
    elif ctx in BARE and len(node.words) == 1 and not node.children and kw not in CONTAINERS:
        el = etree.SubElement(parent, BARE[ctx])
        etree.SubElement(el, "name").text = unquote(kw)
        return
    elif ctx == "esi" and len(node.words) == 1 and kw not in ESI_FLAGS:
        etree.SubElement(parent, "identifier").text = unquote(kw)
        return
    elif kw == "family" and len(node.words) == 2:
        fam = parent.find("family")
        if fam is None:
            fam = etree.SubElement(parent, "family")
        el = etree.SubElement(fam, node.words[1])
    elif (ctx, kw) == THEN_COMMUNITY and len(node.words) == 3:
        el = etree.SubElement(parent, kw)
        etree.SubElement(el, "choice-ident").text = node.words[1]
        etree.SubElement(el, "choice-value").text = ""
        etree.SubElement(el, "community-name").text = unquote(node.words[2])
        return
    elif kw in WHOLE_KEY and len(node.words) > 1:
        el = etree.SubElement(parent, kw)
        names = ("address", "choice-ident", "choice-value")
        for name, w in zip(names, node.words[1:], strict=False):
            etree.SubElement(el, name).text = unquote(w)
        return
    elif len(node.words) >= 2:
        el = etree.SubElement(parent, kw)
        etree.SubElement(el, "name").text = unquote(node.words[1])
    else:
        el = etree.SubElement(parent, kw)
    assert node.children is not None
    for c in node.children.values():
        _xml_node(el, c)


def to_xml_element(tree: Node) -> etree._Element:
    top = etree.Element("configuration")
    assert tree.children is not None
    for c in tree.children.values():
        _xml_node(top, c)
    return top


def to_xml(tree: Node) -> str:
    return etree.tostring(to_xml_element(tree), pretty_print=True).decode()


# ---------------------------------------------------------------------------- diff


@dataclass
class _Diff:
    out: list[str] = field(default_factory=list)
    header: str | None = None

    def emit(self, path: tuple[str, ...], sign: str, node: Node) -> None:
        head = "[edit" + "".join(" " + w for w in path) + "]"
        if head != self.header:
            self.out.append(head)
            self.header = head
        for lvl, text in stmt_lines(node, 1):
            self.out.append(sign + " " * (4 * lvl - 1) + text)


def _walk_diff(d: _Diff, old: Node, new: Node, path: tuple[str, ...]) -> None:
    """Changes in configuration order: each statement of ``old`` (removed, changed or
    descended into), then the statements only ``new`` has."""
    assert old.children is not None and new.children is not None
    for key, o in old.children.items():
        n = new.children.get(key)
        if n is None:
            d.emit(path, "-", o)
        elif o.same(n):
            continue
        elif o.children and n.children:
            _walk_diff(d, o, n, (*path, *o.words))
        else:
            d.emit(path, "-", o)
            d.emit(path, "+", n)
    for key, n in new.children.items():
        if key not in old.children:
            d.emit(path, "+", n)


def diff(old: Node, new: Node) -> str:
    """``show | compare``: ``[edit PATH]`` banners and ``+``/``-`` statements; ``""`` if equal."""
    d = _Diff()
    _walk_diff(d, old, new, ())
    return "\n".join(d.out) + ("\n" if d.out else "")


def set_lines(tree: Node) -> Iterable[str]:
    return to_set(tree).splitlines()
