"""The cabling plan: one CSV row per cable, for the people who plug them in."""

from __future__ import annotations

import csv
import io

from fabric.export.text import clean, text_of
from fabric.export.view import NODE_PORT, FabricView

HEADER = ("a_device", "a_port", "b_device", "b_port", "kind", "ipv4", "ipv6")


def _cell(value: object) -> str:
    """A CSV cell. Quoting is the csv module's job; a leading ``=``, ``+``, ``-`` or ``@``
    would make a spreadsheet evaluate the cell as a formula, so such text gets a ``'``."""
    s = clean(text_of(value)) if value is not None else ""
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s


def cabling_csv(view: FabricView) -> str:
    """The cabling plan as CSV text: header, then fabric links, DCI links, access ports
    (Kubernetes nodes) and server ports (kind ``server``: the leaf port and the server NIC,
    see :class:`~fabric.export.view.ServerCable`). ``ipv4``/``ipv6`` are the routed link's
    /31 and /127; empty for access and server ports. Lines end with ``\\n`` (not the csv module's default ``\\r\\n``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for k in view.links:
        v6 = k.a.address6.network if k.a.address6 is not None else ""
        w.writerow([_cell(x) for x in (k.a.device, k.a.port, k.b.device, k.b.port, k.kind, k.a.address.network, v6)])
    for n in view.access:
        w.writerow([_cell(x) for x in (n.leaf, n.port, n.name, NODE_PORT, "access", "", "")])
    for c in view.server_cables:
        w.writerow([_cell(x) for x in (c.leaf, c.port, c.server, c.nic, "server", "", "")])
    return buf.getvalue()
