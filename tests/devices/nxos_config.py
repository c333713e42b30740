"""The NX-OS test device's running configuration: a tree of command lines.

NX-OS prints its configuration as command lines indented by two spaces per mode
(``interface Ethernet1/1`` then ``  description x``). The tree keys each line by its text;
the order of sibling lines is kept for printing and ignored for comparing. What NX-OS
knows from its parser, this module knows from tables:

- :data:`SINGLE`: commands that hold one value, so a new ``description y`` replaces
  ``description x`` in the same mode;
- ``no X`` removes ``X`` (or every line starting with ``X``: ``no description``), and for
  the commands in :data:`NEGATED` it leaves the ``no X`` line (``no shutdown``) in place of
  ``X``;
- :data:`TOP_MODES` / :data:`TOP_LEAVES`: the global commands a batch without indentation
  may contain (a line that opens a mode, and one that returns to the top level).

Lines starting with ``!`` are comments.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Line", "apply_line", "parse", "patch", "render"]

#: commands holding one value per mode: the words that identify them
SINGLE: tuple[tuple[str, ...], ...] = (
    ("description",), ("mtu",), ("hostname",), ("router-id",), ("remote-as",), ("vrf", "member"),
    ("switchport", "mode"), ("switchport", "access", "vlan"), ("vn-segment",), ("source-interface",),
    ("host-reachability", "protocol"), ("rd",), ("speed",), ("update-source",), ("ebgp-multihop",),
    ("name",), ("ip", "address"), ("local-as",), ("set", "local-preference"), ("password",),
    ("fabric", "forwarding", "anycast-gateway-mac"), ("fabric", "forwarding", "mode"), ("channel-group",),
    ("ingress-replication", "protocol"), ("mcast-group",), ("time",),
)
#: negations that are themselves configuration lines
NEGATED = frozenset({"shutdown", "switchport", "ip redirects", "ipv6 redirects", "bfd echo", "ip redirect"})
#: global commands that open a mode
TOP_MODES: tuple[str, ...] = (
    "interface ", "router ", "vrf context ", "vlan ", "route-map ", "evpn", "scheduler job name ",
    "scheduler schedule name ", "line ", "key chain ", "policy-map ", "class-map ", "ip access-list ",
    "ipv6 access-list ", "vpc domain ", "spanning-tree mst configuration", "role name ", "system qos",
)
#: global commands that never belong to a mode
TOP_LEAVES: tuple[str, ...] = (
    "hostname ", "feature ", "nv overlay ", "ip route ", "ipv6 route ", "ntp ", "ip name-server ",
    "ip domain", "username ", "snmp-server ", "logging ", "ip prefix-list ", "ipv6 prefix-list ",
    "ip community-list ", "ip extcommunity-list ", "fabric forwarding ", "bfd ", "no feature ", "no ip ",
    "no ipv6 ", "version ",
    "boot ", "copp ", "rmon ", "license ", "system ", "vdc ", "spanning-tree ", "cfs ", "callhome",
    "clock ", "banner ", "ssh ", "aaa ", "radius-server ", "tacacs-server ", "power ", "hardware ",
)


@dataclass
class Line:
    """One command line and the lines of the mode it opens."""

    text: str
    children: dict[str, Line] = field(default_factory=dict)

    def copy(self) -> Line:
        return Line(self.text, {k: c.copy() for k, c in self.children.items()})

    def same(self, other: Line) -> bool:
        if self.children.keys() != other.children.keys():
            return False
        return all(c.same(other.children[k]) for k, c in self.children.items())


def root() -> Line:
    return Line("")


def parse(text: str) -> Line:
    """A configuration text (indentation gives the modes) as a tree; ``!`` lines skipped."""
    top = root()
    stack: list[tuple[int, Line]] = [(-1, top)]
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("!"):
            continue
        indent = len(raw) - len(raw.lstrip())
        cmd = " ".join(raw.split())
        if cmd in ("end-job",):
            continue
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        node = parent.children.get(cmd)
        if node is None:
            node = Line(cmd)
            _put(parent, node)
        stack.append((indent, node))
    return top


def _key(words: list[str]) -> tuple[str, ...] | None:
    if words[-1] == "secondary":
        return None
    for prefix in SINGLE:
        if tuple(words[: len(prefix)]) == prefix and len(words) > len(prefix):
            return prefix
    return None


def _put(parent: Line, node: Line) -> None:
    """Add a line to a mode, replacing what it overrides."""
    cmd = node.text
    words = cmd.split()
    key = _key(words)
    if key is not None:
        for k in [k for k in parent.children if k != cmd and tuple(k.split()[: len(key)]) == key]:
            del parent.children[k]
    if cmd in NEGATED:
        parent.children.pop("no " + cmd, None)
    if cmd.startswith("no ") and cmd[3:] in NEGATED:
        parent.children.pop(cmd[3:], None)
    parent.children[cmd] = node


def apply_line(parent: Line, cmd: str) -> Line:
    """Apply one configuration command in the mode ``parent``; returns the line (the mode a
    following indented command goes into)."""
    cmd = " ".join(cmd.split())
    if cmd.startswith("no ") and cmd[3:] not in NEGATED:
        target = cmd[3:]
        for k in [k for k in parent.children if k == target or k.startswith(target + " ")]:
            del parent.children[k]
        return Line(cmd)
    node = parent.children.get(cmd)
    if node is None:
        node = Line(cmd)
        _put(parent, node)
    return node


def render(tree: Line) -> str:
    """The tree as NX-OS prints it (two spaces per mode)."""
    out: list[str] = []

    def walk(node: Line, indent: str) -> None:
        for c in node.children.values():
            out.append(indent + c.text)
            walk(c, indent + "  ")
            if c.text.startswith("scheduler job name "):
                out.append("")
                out.append("end-job")

    walk(tree, "")
    return "\n".join(out) + ("\n" if out else "")


def lines(tree: Line) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every line with the modes above it."""

    def walk(node: Line, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
        for c in node.children.values():
            yield path, c.text
            yield from walk(c, (*path, c.text))

    return walk(tree, ())


def patch(old: Line, new: Line) -> str:
    """The rollback patch from ``old`` to ``new``: ``no`` lines for what goes, lines for what
    comes, each under the modes it belongs to (``show diff rollback-patch``)."""
    out: list[str] = []

    def negate(text: str) -> str:
        return text[3:] if text.startswith("no ") else "no " + text

    def block(node: Line, indent: str) -> None:
        for c in node.children.values():
            out.append(indent + c.text)
            block(c, indent + "  ")

    def walk(a: Line, b: Line, indent: str) -> None:
        for k in a.children:
            if k not in b.children:
                out.append(indent + negate(k))
        for k, c in b.children.items():
            o = a.children.get(k)
            if o is None:
                out.append(indent + k)
                block(c, indent + "  ")
            elif not o.same(c):
                out.append(indent + k)
                walk(o, c, indent + "  ")

    walk(old, new, "")
    return "\n".join(out) + ("\n" if out else "")
