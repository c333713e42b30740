"""Exports: docs pages, cabling plan, topology drawing, containerlab topology, labs/ files."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml

from fabric.api import Fabric, load
from fabric.design.intent import Device
from fabric.export import cabling_csv, clab_yaml, docs_pages, lab_config, render_exports, topology_svg, write_all
from fabric.export.clab import KINDS, device_ports, port_map, runs_bgp_agent
from fabric.export.view import ExportError, FabricView, build_view, link_end
from tests.golden.labs import LAB_INVENTORIES, lab_files

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["lab", "shownet2024", "shownet2024-dci"]
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module", params=EXAMPLES)
def fab(request: pytest.FixtureRequest) -> Fabric:
    return load(ROOT / "inventories" / request.param)


@pytest.fixture(scope="module")
def view(fab: Fabric) -> FabricView:
    return build_view(fab.designed())


def _view(name: str) -> FabricView:
    return build_view(load(ROOT / "inventories" / name).designed())


def _replace_summary(view: FabricView, **changes: Any) -> FabricView:
    """``view`` over a summary with ``changes``."""
    return dataclasses.replace(view, summary=dataclasses.replace(view.summary, **changes), _by_name={})


# ------------------------------------------------------------------ docs


def test_docs_have_index_and_a_page_per_device(view: FabricView) -> None:
    pages = docs_pages(view)
    assert set(pages) == {"index.md"} | {f"{d.name}.md" for d in view.devices}
    index = pages["index.md"]
    for d in view.devices:
        assert f"[{d.name}]({d.name}.md)" in index
    for c in view.clusters:
        assert f"### Cluster {c.name}" in index


def test_device_pages_carry_asn_loopback_and_vnis(view: FabricView) -> None:
    pages = docs_pages(view)
    for d in view.devices:
        page = pages[f"{d.name}.md"]
        assert f"| ASN | {d.asn} |" in page
        assert f"`{d.loopback}`" in page
        for k in view.links_of(d.name):
            assert f"`{link_end(k, d.name)[0]}`" in page
        for n in view.nodes_on(d.name):
            assert f"`{n.port}`" in page
        if not d.is_leaf:
            assert "## Networks" not in page
            continue
        assert f"`{d.vtep}`" in page
        segs = {s.name: s for s in view.segments}
        assert {s.name for s in view.segments_on(d.name)} <= {n for n, _ in view.device_vnis[d.name]}
        for name, stitched in view.device_vnis[d.name]:
            s = segs[name]
            mark = r" \(stitched for DCI\)" if stitched else ""
            assert re.search(rf"\| `{re.escape(s.name)}`{mark} \| `{re.escape(s.vrf)}` \| {s.vlan} \| {s.vni} \|", page)
        for vrf in view.vrfs:
            if vrf.name in view.device_vrfs[d.name]:
                assert f"| `{vrf.name}` | {vrf.tenant} | {vrf.l3vni} | {vrf.vlan} |" in page
        for n in view.nodes_on(d.name):
            assert f"`{n.address.ip}` | {n.asn} |" in page


def test_leaf_page_lists_underlay_overlay_and_k8s_peerings() -> None:
    v = _view("shownet2024")
    page = docs_pages(v)["leaf5.md"]
    spine1 = v.device("spine1")
    assert f"| overlay (EVPN) | `{spine1.loopback}` | {spine1.asn} |" in page
    link = next(k for k in v.links_of("leaf5") if k.b.device == "spine1")
    assert link.b.address6 is not None
    assert f"| underlay | `{link.b.address.ip}` | {spine1.asn} | [spine1](spine1.md) | `{link.a.port}` |" in page
    assert f"| underlay | `{link.b.address6.ip}` | {spine1.asn} |" in page
    assert "| Kubernetes (nke) | `10.30.4.11` | 64630 | `nke-1` | VRF `k8s` |" in page


def test_border_page_lists_dci_sessions() -> None:
    v = _view("shownet2024-dci")
    page = docs_pages(v)["dc1-border1.md"]
    dci = next(k for k in v.links if k.kind == "dci" and k.a.device == "dc1-border1")
    remote = v.device(dci.b.device)
    assert f"| underlay (DCI) | `{dci.b.address.ip}` | {remote.asn} | [{remote.name}]({remote.name}.md) |" in page
    assert f"| overlay (DCI) | `{remote.loopback}` | {remote.asn} |" in page


def test_docs_escape_user_text(view: FabricView) -> None:
    evil = "a | b <script> [x](http://e) # *"
    d = dataclasses.replace(view.devices[0], description=evil)
    v = _replace_summary(view, devices=(d, *view.devices[1:]))
    page = docs_pages(v)[f"{d.name}.md"]
    line = next(ln for ln in page.splitlines() if "script" in ln)
    assert "|" not in line.replace("\\|", "")
    assert "<script>" not in page and "](http" not in page


# ------------------------------------------------------------------ cabling


def _rows(view: FabricView) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(cabling_csv(view))))


def test_cabling_has_a_row_per_cable_and_no_port_twice(fab: Fabric, view: FabricView) -> None:
    text = cabling_csv(view)
    assert text.splitlines()[0] == "a_device,a_port,b_device,b_port,kind,ipv4,ipv6"
    rows = _rows(view)
    inv = fab.inventory
    n_links = len(inv.cabling) if inv.cabling is not None else len(inv.spines) * len(inv.leaves)
    n_nodes = sum(len(c.nodes) for c in inv.kubernetes.clusters)
    n_server_ports = sum(len(s.links) for s in inv.servers)
    assert len(rows) == n_links + len(inv.dci_links) + n_nodes + n_server_ports
    expected = Counter({"fabric": n_links, "dci": len(inv.dci_links), "access": n_nodes, "server": n_server_ports})
    assert Counter(r["kind"] for r in rows) == +expected
    ends = [(r["a_device"], r["a_port"]) for r in rows] + [(r["b_device"], r["b_port"]) for r in rows]
    assert len(ends) == len(set(ends)), [e for e, n in Counter(ends).items() if n > 1]


def test_cabling_lists_every_server_port_with_the_nic_the_lab_gives_it() -> None:
    view = _view("shownet2024")
    rows = [r for r in _rows(view) if r["kind"] == "server"]
    fab = load(ROOT / "inventories" / "shownet2024")
    assert sorted((r["a_device"], r["a_port"], r["b_device"]) for r in rows) == sorted(
        (lk.leaf, lk.port, s.name) for s in fab.inventory.servers for lk in s.links)
    # a server's NICs are eth1, eth2, ... over its links: the names the lab cables them to
    nics = {(r["b_device"], r["b_port"]) for r in rows}
    assert ("noc-hv1", "eth4") in nics and ("noc-db1", "eth2") in nics
    from fabric.lab.topology import lab_topology
    topo = lab_topology(view, bonds=False, vlan_devices=False)
    lab = {(lk.b.removeprefix("s-"), lk.b_if) for lk in topo.links if lk.kind == "server"}
    assert nics == lab
    assert all(r["ipv4"] == r["ipv6"] == "" for r in rows)


def test_device_pages_list_their_servers() -> None:
    view = _view("shownet2024")
    pages = docs_pages(view)
    leaf1 = pages["leaf1.md"]
    assert "| `xe-0/0/11` | `noc-hv1` | `eth1` | server, `ae11` | - | - |" in leaf1
    assert "## Servers" in leaf1
    assert ("| `noc-db1` | `xe-0/0/10` | `ae10`, LACP active fast | access | 100 | `00:02:4c:53:00:00:01:00:00:01` "
            "with [leaf2](leaf2.md) (LACP system id `02:4c:53:00:00:01`) |") in leaf1
    assert "`port-channel10`" in pages["leaf3.md"]  # NX-OS names its LAG port-channel<N>
    assert "## Servers" not in pages["spine1.md"]
    assert "11 server ports (5 servers)" in pages["index.md"]


def test_cabling_addresses_are_the_links_31_and_127(view: FabricView) -> None:
    for r in _rows(view):
        if r["kind"] in ("access", "server"):
            assert r["ipv4"] == r["ipv6"] == ""
            continue
        assert IPv4Network(r["ipv4"]).prefixlen == 31
        if r["ipv6"]:
            assert r["ipv6"].endswith("/127")
    v4 = [r["ipv4"] for r in _rows(view) if r["ipv4"]]
    assert len(v4) == len(set(v4))


def test_cabling_defuses_spreadsheet_formulas(view: FabricView) -> None:
    k = view.links[0]
    cable = dataclasses.replace(k, a=dataclasses.replace(k.a, port="=HYPERLINK(1)"))
    v = _replace_summary(view, links=(cable, *view.links[1:]))
    assert _rows(v)[0]["a_port"] == "'=HYPERLINK(1)"


# ------------------------------------------------------------------ svg


def _svg_texts(svg: str) -> tuple[ET.Element, list[str]]:
    root = ET.fromstring(svg.encode())
    texts = [t.text or "" for t in root.iter(f"{SVG_NS}text")]
    titles = [t.text or "" for t in root.iter(f"{SVG_NS}title")]
    return root, texts + titles


def test_svg_parses_and_names_every_device_and_node(view: FabricView) -> None:
    root, texts = _svg_texts(topology_svg(view))
    assert root.tag == f"{SVG_NS}svg"
    shown = set(texts)
    for d in view.devices:
        assert d.name in shown
        assert any(f"AS {d.asn}" in t for t in texts)
    for n in view.nodes:
        assert n.name in shown
    borders = [g for g in root.iter(f"{SVG_NS}g") if "border" in (g.get("class") or "").split()]
    assert len(borders) == sum(1 for d in view.devices if d.role == "border")
    links = next(g for g in root.iter(f"{SVG_NS}g") if g.get("id") == "links")
    lines = [e for e in links.iter(f"{SVG_NS}line") if e.get("class") == "link"]
    assert len(lines) == sum(1 for c in view.links if c.kind == "fabric")
    assert len([e for e in links.iter(f"{SVG_NS}path") if e.get("class") == "dci"]) == sum(
        1 for c in view.links if c.kind == "dci")


def test_svg_boxes_do_not_overlap(view: FabricView) -> None:
    root = ET.fromstring(topology_svg(view).encode())
    boxes = []
    for g in root.iter(f"{SVG_NS}g"):
        if (g.get("class") or "").split()[:1] in (["device"], ["node"]):
            r = g.find(f"{SVG_NS}rect")
            assert r is not None
            boxes.append(tuple(int(r.get(k, "0")) for k in ("x", "y", "width", "height")))
    width, height = int(root.get("width", "0")), int(root.get("height", "0"))
    for i, (x, y, w, h) in enumerate(boxes):
        assert x >= 0 and x + w <= width and y >= 0 and y + h <= height
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y


def test_svg_escapes_user_text(view: FabricView) -> None:
    info = view.summary.fabric
    sites = tuple(dataclasses.replace(s, description='<b>&"x"') for s in info.sites)
    v = _replace_summary(view, fabric=dataclasses.replace(info, sites=sites, description='<i>&"y"'))
    svg = topology_svg(v)
    ET.fromstring(svg.encode())  # still well-formed
    assert "<b>" not in svg


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert (Debian librsvg2-bin) not installed")
def test_svg_renders_with_rsvg(view: FabricView, tmp_path: Path) -> None:
    src = tmp_path / "t.svg"
    src.write_text(topology_svg(view), encoding="utf-8")
    png = tmp_path / "t.png"
    subprocess.run(["rsvg-convert", str(src), "-o", str(png)], check=True, capture_output=True, timeout=60)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ containerlab


def _clab(view: FabricView) -> dict[str, Any]:
    data = yaml.safe_load(clab_yaml(view))
    assert isinstance(data, dict)
    return data


def test_clab_has_every_device_and_node_with_its_kind(view: FabricView) -> None:
    data = _clab(view)
    assert data["name"] == view.name
    nodes = data["topology"]["nodes"]
    hosts = {n for n, node in nodes.items() if node["labels"]["role"] == "host"}
    servers = {f"s-{a.server}" for atts in view.server_attachments.values() for a in atts}
    assert {n for n, node in nodes.items() if node["labels"]["role"] == "server"} == servers
    assert set(nodes) == {d.name for d in view.devices} | {n.name for n in view.nodes} | hosts | servers
    frr_leaves = {d.name for d in view.leaves if d.platform == "frr"}
    # the same test hosts as the lab (one per network and leaf), on the FRR leaves only
    assert hosts == {f"h-{s.name}-{leaf}" for s in view.segments for leaf in s.leaves if leaf in frr_leaves}
    for d in view.devices:
        spec = KINDS[d.platform]
        node = nodes[d.name]
        assert node["kind"] == spec.kind
        renumbered = port_map(d, device_ports(view, d.name)).renumbered
        config = f"{'clab-configs' if renumbered else 'configs'}/{d.name}{spec.config_suffix}"
        if d.platform == "frr":
            assert node["kind"] == "linux" and f"{config}:/etc/frr/frr.conf" in node["binds"]
            assert "frr-daemons:/etc/frr/daemons" in node["binds"]
            assert "frr" in data["topology"]["kinds"]["linux"]["image"]
            if d.vtep is not None:  # the Linux side of a leaf, as the lab builds it
                assert any(c.startswith("ip link add vxlan") and f"local {d.vtep}" in c for c in node["exec"])
                assert f"ip link set vlan{view.segments[0].vlan} address {view.gateway_mac}" in node["exec"]
        else:
            assert node["startup-config"] == config
    agent_clusters = {c.name for c in view.clusters if runs_bgp_agent(c)}
    for n in view.nodes:
        assert nodes[n.name]["kind"] == "linux"
        if n.cluster in agent_clusters:
            assert f"agents/{n.cluster}/{n.name}.yaml:/etc/bgp-agent/agent.yaml" in nodes[n.name]["binds"]
        else:
            assert "binds" not in nodes[n.name]
    assert {"juniper_vjunosswitch", "cisco_n9kv", "linux"} >= set(data["topology"]["kinds"])


def test_lab_config_renames_hardware_ports_onto_lab_ports() -> None:
    text = (
        "interfaces {\n    et-0/0/48 {\n        mtu 9216;\n    }\n    et-0/0/4 {\n    }\n}\n"
        "protocols { lldp { interface et-0/0/48.0; interface xe-0/0/10; } }\n"
        "description \"underlay: spine1 Ethernet1/1\";\n"
    )
    out = lab_config(text, {"et-0/0/48": "ge-0/0/0", "et-0/0/4": "ge-0/0/1", "xe-0/0/10": "ge-0/0/2"})
    assert "ge-0/0/0 {" in out and "ge-0/0/1 {" in out and "interface ge-0/0/0.0;" in out
    assert "interface ge-0/0/2;" in out and "et-0/0/" not in out and "xe-0/0/" not in out
    assert "Ethernet1/1" in out  # ports of other devices (in descriptions) are left alone
    assert lab_config(text, {}) == text


def test_renumbered_devices_boot_from_renamed_configs(tmp_path: Path) -> None:
    """A QFX5120-48Y leaf's et-0/0/48 does not exist on vJunos-switch: its node boots from
    a copy of its config renamed onto the lab ports, and every port that copy names is
    one the topology cables."""
    fab = load(ROOT / "inventories" / "shownet2024")
    fab.build(tmp_path)
    data = yaml.safe_load((tmp_path / "shownet2024.clab.yml").read_text())
    node = data["topology"]["nodes"]["leaf1"]
    assert node["startup-config"] == "clab-configs/leaf1.conf"
    renamed = (tmp_path / "clab-configs" / "leaf1.conf").read_text()
    ports = set(re.findall(r"^    ((?:et|xe|ge)-0/0/\d+) \{", renamed, re.M))
    assert ports and all(p.startswith("ge-0/0/") and int(p.rsplit("/", 1)[1]) < 10 for p in ports)
    cabled = {e.split(":", 1)[1] for link in data["topology"]["links"] for e in link["endpoints"]
              if e.startswith("leaf1:")}
    assert {f"eth{int(p.rsplit('/', 1)[1]) + 1}" for p in ports} == cabled
    original = (tmp_path / "configs" / "leaf1.conf").read_text()
    assert "et-0/0/48 {" in original  # the build's own config keeps the hardware ports


def test_clab_links_are_consistent(view: FabricView) -> None:
    data = _clab(view)
    nodes = data["topology"]["nodes"]
    links = data["topology"]["links"]
    hosts = [n for n, node in nodes.items() if node["labels"]["role"] == "host"]
    server_ports = [p for atts in view.server_attachments.values() for a in atts for p in a.ports]
    assert len(links) == len(view.links) + len(view.access) + len(hosts) + len(server_ports)
    used: Counter[str] = Counter()
    for link in links:
        a, b = link["endpoints"]
        for ep in (a, b):
            node, _, iface = ep.partition(":")
            assert node in nodes, ep
            assert iface and iface != "eth0", ep  # eth0 is management
            used[ep] += 1
    assert [ep for ep, n in used.items() if n > 1] == []


def test_a_virtual_switch_with_too_few_ports_is_an_error(view: FabricView) -> None:
    junos = next((d for d in view.devices if d.platform == "junos"), None)
    if junos is None:
        pytest.skip(f"{view.name} has no junos device")
    ports = [f"xe-0/0/{i}" for i in range(KINDS["junos"].data_ports + 1)]  # type: ignore[operator]
    with pytest.raises(ExportError, match=r"has 10 data ports, the device uses 11"):
        port_map(junos, ports)


def test_clab_interfaces_fit_the_virtual_switches(view: FabricView) -> None:
    data = _clab(view)
    kinds = {d.name: KINDS[d.platform] for d in view.devices}
    for link in data["topology"]["links"]:
        for ep in link["endpoints"]:
            node, _, iface = ep.partition(":")
            spec = kinds.get(node)
            if spec is None or spec.data_ports is None:
                continue
            m = re.fullmatch(r"eth(\d+)", iface)
            assert m and 1 <= int(m.group(1)) <= spec.data_ports, ep


def test_clab_management_addresses(view: FabricView) -> None:
    data = _clab(view)
    subnet = IPv4Network(data["mgmt"]["ipv4-subnet"])
    # test hosts and servers get theirs from containerlab; switches and Kubernetes nodes have fixed ones
    fixed = [n for n in data["topology"]["nodes"].values() if n["labels"]["role"] not in ("host", "server")]
    addrs = [IPv4Address(n["mgmt-ipv4"]) for n in fixed]
    assert len(addrs) == len(set(addrs)) == len(fixed)
    assert all(a in subnet for a in addrs)
    for d in view.devices:
        assert d.mgmt is not None
        assert data["topology"]["nodes"][d.name]["mgmt-ipv4"] == str(d.mgmt.ip)


def test_port_map_follows_containerlab_naming() -> None:
    junos = Device("x", "leaf", "junos", "qfx5120-32c", "", 1, None, None, None, None, None, 1,
                   IPv4Address("10.0.0.1"), None, None, IPv4Address("10.0.0.1"))
    nxos = dataclasses.replace(junos, platform="nxos", model="n9k-9332c")
    # docs: et-0/0/0 is eth1 on vJunos-switch; Ethernet1/1 is eth1 on n9kv
    assert port_map(junos, ["et-0/0/0", "et-0/0/9"]).interfaces == {"et-0/0/0": "eth1", "et-0/0/9": "eth10"}
    assert port_map(nxos, ["Ethernet1/1", "Ethernet1/49"]).interfaces == {"Ethernet1/1": "eth1", "Ethernet1/49": "eth49"}
    # QFX port numbers beyond vJunos-switch's 10, or two port types on one number: renumbered in order
    pm = port_map(junos, ["et-0/0/48", "xe-0/0/0", "et-0/0/0"])
    assert pm.interfaces == {"et-0/0/48": "eth1", "xe-0/0/0": "eth2", "et-0/0/0": "eth3"}
    assert pm.renumbered == {"et-0/0/48": "ge-0/0/0", "xe-0/0/0": "ge-0/0/1", "et-0/0/0": "ge-0/0/2"}


# ------------------------------------------------------------------ write_all, determinism, labs


def test_write_all_is_deterministic_and_removes_stale_pages(fab: Fabric, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    (second / "docs").mkdir(parents=True)
    (second / "docs" / "gone-leaf.md").write_text("stale", encoding="utf-8")
    view = build_view(fab.designed())
    rendered = fab.render()
    paths = write_all(view, rendered, first)
    write_all(view, rendered, second)
    rel = sorted(p.relative_to(first).as_posix() for p in paths)
    assert set(rel) >= set(render_exports(view))
    assert f"{fab.name}.clab.yml" in rel and "cabling.csv" in rel and "topology.svg" in rel
    got = sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    assert got == rel
    for r in rel:
        assert (first / r).read_bytes() == (second / r).read_bytes(), r


def test_labs_are_up_to_date() -> None:
    files = lab_files(ROOT)
    assert {p.name for p in files} == {f"{load(ROOT / 'inventories' / n).name}.clab.yml" for n in LAB_INVENTORIES}
    for path, text in files.items():
        assert path.exists(), f"{path} missing: run `make labs`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make labs`"
        data = yaml.safe_load(text)
        cfg = next(iter(data["topology"]["nodes"].values()))
        assert any("../build/" in str(v) for v in cfg.values()), "labs/ point at build/<inventory>/configs"


def _gen_fabric() -> Any:
    path = ROOT / "tests" / "bench" / "gen_fabric.py"
    spec = importlib.util.spec_from_file_location("gen_fabric_export", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_exports_of_a_256_leaf_fabric(tmp_path: Path) -> None:
    _gen_fabric().write(tmp_path / "inv", 4, 256, 8, 2)
    v = build_view(load(tmp_path / "inv").designed())
    svg = topology_svg(v)
    _root, texts = _svg_texts(svg)
    assert {d.name for d in v.devices} <= set(texts)
    data = yaml.safe_load(clab_yaml(v))
    assert len(data["topology"]["links"]) == len(v.links) + len(v.access)
    assert len(_rows(v)) == 4 * 256 + len(v.nodes)
    assert len(docs_pages(v)) == len(v.devices) + 1


def test_view_sites_cover_every_device(view: FabricView) -> None:
    names = {name for name, _ in view.sites}
    assert all((d.site or "") in names for d in view.devices)
    assert {s.name for s in view.summary.fabric.sites} <= names


def test_fabric_build_writes_the_configs_the_clab_topology_names(fab: Fabric, tmp_path: Path) -> None:
    result = fab.build(tmp_path)
    assert result.exports == "written"
    topo = yaml.safe_load((tmp_path / f"{fab.name}.clab.yml").read_text(encoding="utf-8"))
    for name, node in topo["topology"]["nodes"].items():
        configs = [node.get("startup-config")] + [b.split(":")[0] for b in node.get("binds", [])]
        for rel in filter(None, configs):
            assert not Path(rel).is_absolute()
            assert (tmp_path / rel).is_file(), f"{name}: {rel} was not written by fabric build"
    assert (tmp_path / "docs" / "index.md").is_file() and (tmp_path / "cabling.csv").is_file()
