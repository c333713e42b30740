"""A drawing of the fabric as hand-written SVG: no layout engine, no external tool.

Layout, top to bottom: the title; per site (left to right) its spines in one row, spread
over the width of the site's leaves; the leaves in one row grouped by rack, a rack's leaves
side by side in a frame (a redundant pair joined by a short bar); the Kubernetes nodes
stacked under the leaf they are cabled to; a legend. Fabric links are straight lines from
a leaf to a spine; DCI links are dashed curves under the leaf row between border leaves.

Every position is an integer computed from the view's order, so the file is deterministic.
A large fabric (256 leaves) gives a wide but valid drawing; box labels are shortened with
an ellipsis and each box carries a ``<title>`` with the full facts (shown as a tooltip).
"""

from __future__ import annotations

from dataclasses import dataclass

from fabric.design.intent import Device, K8sNode, Link
from fabric.export.text import xml
from fabric.export.view import FabricView

SITE_GAP = 60
SITE_PAD = 18
TOP = 58  # title band
COMPACT_ABOVE = 48
"""More leaves than this and boxes shrink to name + ASN, so 256 leaves stay under the
32767-pixel width renderers such as librsvg accept."""


@dataclass(frozen=True)
class _Geometry:
    """Sizes of one drawing; ``compact`` drops the hardware and loopback lines."""

    box_w: int
    box_h: int
    node_h: int
    gap: int  # between leaves of a rack
    rack_gap: int
    rack_pad: int
    label: int  # characters that fit a box line
    compact: bool

    @property
    def spine_y(self) -> int:
        return TOP + SITE_PAD + 26

    @property
    def leaf_y(self) -> int:
        return self.spine_y + self.box_h + 150

    @property
    def node_y(self) -> int:
        return self.leaf_y + self.box_h + 34

    @property
    def node_step(self) -> int:
        return self.node_h + 8


NORMAL = _Geometry(box_w=128, box_h=70, node_h=44, gap=14, rack_gap=26, rack_pad=8, label=20, compact=False)
COMPACT = _Geometry(box_w=76, box_h=40, node_h=30, gap=6, rack_gap=12, rack_pad=4, label=11, compact=True)

STYLE = {
    "spine": ("#dbe9f6", "#2b5d8a"),
    "leaf": ("#e3f2e1", "#3b7a3b"),
    "border": ("#fde7c8", "#b8741a"),
    "node": ("#f1f1f1", "#6b6b6b"),
}
LINK_COLOR = "#8a9bb0"
DCI_COLOR = "#d9480f"
ACCESS_COLOR = "#9e9e9e"
PAIR_COLOR = "#7048e8"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@dataclass
class _Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> int:
        return self.x + self.w // 2


def _racks(leaves: list[Device]) -> list[list[Device]]:
    """Leaves grouped by rack in order of first appearance; a leaf without a rack is a
    group of its own. Inside a rack, a leaf is moved next to its pair partner."""
    groups: dict[str, list[Device]] = {}
    solo: list[list[Device]] = []
    order: list[tuple[str, int]] = []
    for d in leaves:
        if d.rack:
            if d.rack not in groups:
                groups[d.rack] = []
                order.append((d.rack, -1))
            groups[d.rack].append(d)
        else:
            solo.append([d])
            order.append(("", len(solo) - 1))
    out: list[list[Device]] = []
    for rack, i in order:
        if not rack:
            out.append(solo[i])
            continue
        members = groups[rack]
        arranged: list[Device] = []
        for d in members:
            if d in arranged:
                continue
            arranged.append(d)
            partner = next((m for m in members if m.name == d.pair and m not in arranged), None)
            if partner is not None:
                arranged.append(partner)
        out.append(arranged)
    return out


def topology_svg(view: FabricView) -> str:
    """The drawing as SVG text (UTF-8, standalone)."""
    g = COMPACT if len(view.leaves) > COMPACT_ABOVE else NORMAL
    boxes: dict[str, _Box] = {}
    body_racks: list[str] = []
    body_sites: list[str] = []
    x = SITE_PAD + 10
    nodes_on = {d.name: view.nodes_on(d.name) for d in view.leaves}
    max_nodes = max((len(v) for v in nodes_on.values()), default=0)
    bottom = g.node_y + max_nodes * g.node_step if max_nodes else g.leaf_y + g.box_h + 20
    dci = [k for k in view.links if k.kind == "dci"]
    site_bottom = bottom + 24
    # DCI links leave their sites downwards and meet on a bus under the site frames, one
    # lane each, so they never cross a node stack
    dci_y = site_bottom + 22
    for site_name, site_description in view.sites:
        spines = view.at_site(site_name, view.spines)
        leaves = view.at_site(site_name, view.leaves)
        if not spines and not leaves:
            continue
        site_x = x
        lx = x + SITE_PAD
        racks = _racks(leaves)
        leaves_w = sum(len(r) * (g.box_w + g.gap) - g.gap + 2 * g.rack_pad for r in racks) + g.rack_gap * max(len(racks) - 1, 0)
        spines_w = len(spines) * (g.box_w + 2 * g.gap) - 2 * g.gap
        inner = max(leaves_w, spines_w, g.box_w)
        lx += (inner - leaves_w) // 2
        for rack in racks:
            rw = len(rack) * (g.box_w + g.gap) - g.gap + 2 * g.rack_pad
            label = f"rack {rack[0].rack}" if rack[0].rack else ""
            body_racks.append(
                f'<rect class="rack" x="{lx}" y="{g.leaf_y - 22}" width="{rw}" height="{g.box_h + 22 + g.rack_pad}" rx="6"/>'
            )
            if label:
                text = xml(_short(label, max(rw // 7, 4)))
                body_racks.append(f'<text class="rack-label" x="{lx + 6}" y="{g.leaf_y - 8}">{text}</text>')
            bx = lx + g.rack_pad
            for d in rack:
                boxes[d.name] = _Box(bx, g.leaf_y, g.box_w, g.box_h)
                bx += g.box_w + g.gap
            lx += rw + g.rack_gap
        # spread the spines evenly over the site's width
        step = inner // max(len(spines), 1)
        for i, d in enumerate(spines):
            boxes[d.name] = _Box(x + SITE_PAD + step * i + (step - g.box_w) // 2, g.spine_y, g.box_w, g.box_h)
        site_w = inner + 2 * SITE_PAD
        body_sites.append(
            f'<rect class="site" x="{site_x}" y="{TOP}" width="{site_w}" height="{site_bottom - TOP}" rx="10"/>'
        )
        title = f"site {site_name}" if site_name else "fabric"
        if site_description:
            title += f" \u2014 {site_description}"
        label = xml(_short(title, max(site_w // 7, 12)))
        body_sites.append(f'<text class="site-label" x="{site_x + 10}" y="{TOP + 18}">{label}</text>')
        x += site_w + SITE_GAP
    legend, legend_w = _legend(0)
    width = max(x - SITE_GAP + SITE_PAD + 10, legend_w + SITE_PAD + 10)
    legend_y = (dci_y + 10 * len(dci) + 20) if dci else site_bottom + 24
    height = legend_y + 40

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        ' font-family="DejaVu Sans, Arial, Helvetica, sans-serif">',
        f"<title>{xml(f'Fabric {view.name}')}</title>",
        "<style>",
        ".site{fill:#fbfbfd;stroke:#c5cbd3;stroke-width:1.5}",
        ".site-label{font-size:14px;font-weight:bold;fill:#445}",
        ".rack{fill:none;stroke:#b9c0c9;stroke-dasharray:4 3}",
        ".rack-label{font-size:11px;fill:#667}",
        ".name{font-size:13px;font-weight:bold;fill:#1d2733}",
        ".sub{font-size:10px;fill:#34404d}",
        ".tag{font-size:9px;font-weight:bold;fill:#fff}",
        f".link{{stroke:{LINK_COLOR};stroke-width:1.2}}",
        f".dci{{stroke:{DCI_COLOR};stroke-width:2;stroke-dasharray:7 4;fill:none}}",
        f".access{{stroke:{ACCESS_COLOR};stroke-width:1}}",
        f".pair{{stroke:{PAIR_COLOR};stroke-width:3}}",
        "</style>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{SITE_PAD + 10}" y="30" font-size="20" font-weight="bold" fill="#1d2733">'
        f'{xml(_short(f"Fabric {view.name}", 60))}</text>',
        f'<text x="{SITE_PAD + 10}" y="48" class="sub">{xml(_summary(view))}</text>',
    ]
    out += body_sites + body_racks
    # links under the boxes
    out.append('<g id="links">')
    for c in view.links:
        if c.kind == "fabric" and c.a.device in boxes and c.b.device in boxes:
            a, b = boxes[c.a.device], boxes[c.b.device]
            out.append(f'<line class="link" x1="{a.cx}" y1="{a.y}" x2="{b.cx}" y2="{b.y + b.h}">'
                       f"<title>{xml(_link_tip(c))}</title></line>")
    for i, c in enumerate(dci):
        if c.a.device in boxes and c.b.device in boxes:
            a, b = boxes[c.a.device], boxes[c.b.device]
            lane, dx = dci_y + 10 * i, 6 * i - 3 * (len(dci) - 1)
            out.append(f'<path class="dci" d="M {a.cx + dx} {a.y + a.h} V {lane} H {b.cx + dx} V {b.y + b.h}">'
                       f"<title>{xml('DCI ' + _link_tip(c))}</title></path>")
    out.append("</g>")
    # pair bars between adjacent partners
    drawn: set[frozenset[str]] = set()
    for d in view.leaves:
        if d.pair and d.pair in boxes and frozenset((d.name, d.pair)) not in drawn:
            a, b = sorted((boxes[d.name], boxes[d.pair]), key=lambda bx: bx.x)
            if b.x - (a.x + a.w) <= g.gap and a.y == b.y:
                out.append(f'<line class="pair" x1="{a.x + a.w}" y1="{a.y + a.h // 2}" x2="{b.x}" y2="{b.y + b.h // 2}"/>')
            drawn.add(frozenset((d.name, d.pair)))
    out.append('<g id="devices">')
    for d in view.devices:
        out += _device(d, boxes[d.name], g)
    out.append("</g>")
    out.append('<g id="nodes">')
    for leaf in view.leaves:
        lb = boxes[leaf.name]
        for i, n in enumerate(nodes_on[leaf.name]):
            nb = _Box(lb.x, g.node_y + i * g.node_step, g.box_w, g.node_h)
            if i == 0:
                out.append(f'<line class="access" x1="{lb.cx}" y1="{lb.y + lb.h}" x2="{nb.cx}" y2="{nb.y}"/>')
            out += _node(n, nb, g)
    out.append("</g>")
    out.append(f'<g transform="translate(0 {legend_y})">')
    out += legend
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _link_tip(c: Link) -> str:
    return f"{c.a.device} {c.a.port} -- {c.b.device} {c.b.port} {c.a.address.network}"


def _summary(view: FabricView) -> str:
    n_border = sum(1 for d in view.leaves if d.role == "border")
    return (f"{len(view.spines)} spines, {len(view.leaves)} leaves ({n_border} border), "
            f"{len(view.nodes)} Kubernetes nodes in {len(view.clusters)} clusters, "
            f"{len(view.segments)} networks in {len(view.vrfs)} VRFs")


def _device(d: Device, b: _Box, g: _Geometry) -> list[str]:
    fill, stroke = STYLE[d.role]
    tip = f"{d.name} ({d.role}) {d.platform} {d.model}, AS {d.asn}, loopback {d.loopback}"
    if d.mgmt is not None:
        tip += f", mgmt {d.mgmt}"
    asn = f"AS {d.asn}" if len(f"AS {d.asn}") <= g.label else str(d.asn)
    lines = [asn] if g.compact else [_hw(d), asn, f"lo {d.loopback}"]
    out = [
        f'<g class="device {d.role}" id="dev-{xml(d.name)}">',
        f"<title>{xml(tip)}</title>",
        f'<rect x="{b.x}" y="{b.y}" width="{b.w}" height="{b.h}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="1.6"/>',
        f'<text class="name" x="{b.x + 6}" y="{b.y + 17}">{xml(_short(d.name, g.label - 2))}</text>',
    ]
    out += [f'<text class="sub" x="{b.x + 6}" y="{b.y + 31 + 13 * k}">{xml(_short(t, g.label))}</text>'
            for k, t in enumerate(lines)]
    if d.role == "border":
        # the tag sits on the top edge, clear of the labels inside the box
        tag, tw = ("B", 14) if g.compact else ("BORDER", 54)
        out += [
            f'<rect x="{b.x + b.w - tw - 6}" y="{b.y - 8}" width="{tw}" height="15" rx="3" fill="{stroke}"/>',
            f'<text class="tag" x="{b.x + b.w - tw - 1}" y="{b.y + 3}">{tag}</text>',
        ]
    out.append("</g>")
    return out


def _hw(d: Device) -> str:
    return d.platform if d.model == d.platform else f"{d.platform} {d.model}"


def _node(n: K8sNode, b: _Box, g: _Geometry) -> list[str]:
    fill, stroke = STYLE["node"]
    tip = f"{n.name} (cluster {n.cluster}) on {n.leaf} {n.port}, {n.address.ip}, AS {n.asn}"
    lines = [f"AS {n.asn}"] if g.compact else [f"cluster {n.cluster}", f"AS {n.asn} {n.address.ip}"]
    out = [
        f'<g class="node" id="node-{xml(n.name)}">',
        f"<title>{xml(tip)}</title>",
        f'<rect x="{b.x}" y="{b.y}" width="{b.w}" height="{b.h}" rx="4" fill="{fill}" stroke="{stroke}"/>',
        f'<text class="sub" x="{b.x + 6}" y="{b.y + 13}" font-weight="bold">{xml(_short(n.name, g.label))}</text>',
    ]
    out += [f'<text class="sub" x="{b.x + 6}" y="{b.y + 26 + 13 * k}">{xml(_short(t, g.label + 1))}</text>'
            for k, t in enumerate(lines)]
    out.append("</g>")
    return out


def _legend(y: int) -> tuple[list[str], int]:
    """The legend's SVG lines and its right edge."""
    out = ['<g id="legend">']
    x = SITE_PAD + 10
    for role, label in (("spine", "spine"), ("leaf", "leaf"), ("border", "border leaf"), ("node", "Kubernetes node")):
        fill, stroke = STYLE[role]
        out.append(f'<rect x="{x}" y="{y}" width="18" height="12" rx="2" fill="{fill}" stroke="{stroke}"/>')
        out.append(f'<text class="sub" x="{x + 24}" y="{y + 10}">{label}</text>')
        x += 24 + 7 * len(label) + 22
    for cls, label in (("link", "leaf-spine link"), ("dci", "DCI link"), ("pair", "redundant pair")):
        out.append(f'<line class="{cls}" x1="{x}" y1="{y + 6}" x2="{x + 26}" y2="{y + 6}"/>')
        out.append(f'<text class="sub" x="{x + 32}" y="{y + 10}">{label}</text>')
        x += 32 + 7 * len(label) + 22
    out.append("</g>")
    return out, x
