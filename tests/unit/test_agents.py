"""bgp-agent configs from the fabric (``agents/<cluster>/<node>.yaml`` and the ConfigMap).

The acceptance test reads the *rendered* leaf configs (FRR, NX-OS and Junos set form) with a
small parser per platform and checks that every node's agent config agrees with the leaf it
peers with: the session's addresses (the node's address is a neighbor there, the agent's
peer address is the leaf's address for that session), both ASNs, the families, the hold
time and the accepted service ranges and lengths. The other tests cover the user section:
kept on regeneration, taken from whichever file was edited, refused when it sets a fabric
key or makes a config the agent would refuse, every problem with its file and line and
nothing written.
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_interface, ip_network
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import fabric
from bgp.config import AgentConfig, load_config
from fabric.cli import main
from fabric.errors import InventoryError
from fabric.export.agents import FABRIC_KEYS, USER_MARKER, split_user
from tests.golden.labs import deploy_files

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ROOT / "inventories"
EXAMPLES = ("lab", "shownet2024", "shownet2024-dci")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("agents")
    for name in EXAMPLES:
        fabric.load(INVENTORIES / name).build(out / name)
    return {name: out / name for name in EXAMPLES}


# --------------------------------------------------------------------------- leaf config parsers


@dataclass
class Session:
    """What a leaf config says about one BGP session toward a node."""

    vrf: str
    remote_as: set[int] = field(default_factory=set)
    families: set[str] = field(default_factory=set)
    local_address: str | None = None
    """The leaf's session source: an address, or (NX-OS) an interface name."""
    multihop: int | None = None
    hold_time: int | None = None
    import_policies: set[str] = field(default_factory=set)


@dataclass
class Leaf:
    asn: int
    sessions: dict[str, Session]
    """neighbor address (or allowed /32, /128 host) -> session."""
    interfaces: list[tuple[str, str]]
    """(vrf, address/len) of every interface address."""
    accepted: dict[str, set[tuple[str, int, int]]]
    """import policy name -> (range, min length, max length) it accepts."""
    named: dict[str, list[str]] = field(default_factory=dict)
    """interface name -> its addresses (address/len), to resolve an ``update-source`` name."""


def _ge_le(net: str, mods: str) -> tuple[str, int, int]:
    plen = ip_network(net).prefixlen
    ge = re.search(r"ge (\d+)", mods)
    le = re.search(r"le (\d+)", mods)
    eq = re.search(r"eq (\d+)", mods)
    if eq:
        return net, int(eq.group(1)), int(eq.group(1))
    lo = int(ge.group(1)) if ge else plen
    return net, lo, int(le.group(1)) if le else (lo if ge else plen)


def _cli_policies(text: str) -> dict[str, set[tuple[str, int, int]]]:
    """route-map name -> ranges of the prefix lists its permit entries match (NX-OS, FRR)."""
    plists: dict[str, set[tuple[str, int, int]]] = defaultdict(set)
    for m in re.finditer(r"^ipv?6? prefix-list (\S+) seq \d+ permit (\S+)(.*)$", text, re.MULTILINE):
        plists[m.group(1)].add(_ge_le(m.group(2), m.group(3)))
    maps: dict[str, set[tuple[str, int, int]]] = defaultdict(set)
    current = None
    for line in text.splitlines():
        m = re.match(r"^route-map (\S+) (permit|deny) \d+", line)
        if m:
            current = m.group(1) if m.group(2) == "permit" else None
            continue
        m = re.match(r"^\s+match ipv?6? address prefix-list (\S+)", line)
        if m and current:
            maps[current] |= plists[m.group(1)]
        elif not line.startswith(" "):
            current = None
    return maps


def parse_frr(text: str) -> Leaf:
    sessions: dict[str, Session] = {}
    groups: dict[str, dict[str, object]] = defaultdict(dict)
    member: dict[str, str] = {}
    interfaces: list[tuple[str, str]] = []
    asn = 0
    vrf = "default"
    iface_vrf = None
    af = None
    for line in text.splitlines():
        if m := re.match(r"^interface \S+(?: vrf (\S+))?$", line):
            iface_vrf = m.group(1) or "default"
            continue
        if iface_vrf and (m := re.match(r"^ ipv?6? address (\S+/\d+)$", line)):
            interfaces.append((iface_vrf, m.group(1)))
            continue
        if m := re.match(r"^router bgp (\d+)(?: vrf (\S+))?$", line):
            asn, vrf, iface_vrf, af = int(m.group(1)), m.group(2) or "default", None, None
            continue
        if not line.startswith(" "):
            iface_vrf = None
        if m := re.match(r"^ address-family (ipv4|ipv6) unicast$", line):
            af = m.group(1)
            continue
        if re.match(r"^ exit-address-family$", line):
            af = None
            continue
        m = re.match(r"^ +neighbor (\S+) (.*)$", line)
        if not m:
            continue
        who, rest = m.group(1), m.group(2)
        is_addr = bool(re.match(r"^[0-9a-fA-F:.]+$", who)) and ("." in who or ":" in who)
        key = f"{vrf}/{who}"
        if is_addr:
            s = sessions.setdefault(who, Session(vrf))
            if r := re.match(r"remote-as (\d+)", rest):
                s.remote_as.add(int(r.group(1)))
            elif r := re.match(r"peer-group (\S+)", rest):
                member[who] = f"{vrf}/{r.group(1)}"
        elif rest.startswith("timers "):
            groups[key]["hold"] = int(rest.split()[2])
        elif rest.startswith("update-source "):
            groups[key]["source"] = rest.split()[1]
        elif rest.startswith("ebgp-multihop "):
            groups[key]["multihop"] = int(rest.split()[1])
        elif rest == "activate" and af:
            groups[key].setdefault("families", set()).add(af)  # type: ignore[union-attr]
        elif (r := re.match(r"route-map (\S+) in", rest)) and af:
            groups[key].setdefault("import", set()).add(r.group(1))  # type: ignore[union-attr]
    for addr, s in sessions.items():
        g = groups.get(member.get(addr, ""), {})
        s.families = set(g.get("families", set()))  # type: ignore[call-overload]
        s.hold_time = g.get("hold")  # type: ignore[assignment]
        s.local_address = g.get("source")  # type: ignore[assignment]
        s.multihop = g.get("multihop")  # type: ignore[assignment]
        s.import_policies = set(g.get("import", set()))  # type: ignore[call-overload]
    return Leaf(asn, sessions, interfaces, _cli_policies(text))


def parse_nxos(text: str) -> Leaf:
    sessions: dict[str, Session] = {}
    interfaces: list[tuple[str, str]] = []
    asn = 0
    vrf = "default"
    iface: list[str] | None = None
    iface_vrf = "default"
    named: dict[str, list[str]] = {}
    cur: Session | None = None
    af = None
    in_bgp = False
    for line in text.splitlines():
        if m := re.match(r"^interface (\S+)$", line):
            iface, iface_vrf, in_bgp = [], "default", False
            named[m.group(1)] = iface
            continue
        if m := re.match(r"^router bgp (\d+)$", line):
            asn, in_bgp, iface = int(m.group(1)), True, None
            continue
        if not line.startswith(" "):
            if iface:
                interfaces.extend((iface_vrf, a) for a in iface)
            iface, in_bgp = None, False
            continue
        if iface is not None:
            if m := re.match(r"^  vrf member (\S+)$", line):
                iface_vrf = m.group(1)
            elif m := re.match(r"^  ipv?6? address (\S+/\d+)$", line):
                iface.append(m.group(1))
            continue
        if not in_bgp:
            continue
        if m := re.match(r"^  vrf (\S+)$", line):
            vrf, cur = m.group(1), None
        elif m := re.match(r"^  neighbor (\S+)$", line):
            cur = sessions.setdefault(m.group(1), Session("default"))
        elif m := re.match(r"^    neighbor (\S+)$", line):
            cur = sessions.setdefault(m.group(1), Session(vrf))
        elif cur is not None and (m := re.match(r"^ +remote-as (\d+)$", line)):
            cur.remote_as.add(int(m.group(1)))
        elif cur is not None and (m := re.match(r"^ +timers \d+ (\d+)$", line)):
            cur.hold_time = int(m.group(1))
        elif cur is not None and (m := re.match(r"^ +update-source (\S+)$", line)):
            cur.local_address = m.group(1)
        elif cur is not None and (m := re.match(r"^ +ebgp-multihop (\d+)$", line)):
            cur.multihop = int(m.group(1))
        elif cur is not None and (m := re.match(r"^ +address-family (ipv4|ipv6) unicast$", line)):
            af = m.group(1)
            cur.families.add(af)
        elif cur is not None and (m := re.match(r"^ +route-map (\S+) in$", line)):
            cur.import_policies.add(m.group(1))
    return Leaf(asn, sessions, interfaces, _cli_policies(text), named)


def parse_junos_set(text: str) -> Leaf:
    asn = 0
    groups: dict[tuple[str, str], Session] = {}
    allows: dict[tuple[str, str], list[str]] = defaultdict(list)
    as_lists: dict[str, set[int]] = defaultdict(set)
    peer_as_list: dict[tuple[str, str], str] = {}
    policies: dict[str, set[tuple[str, int, int]]] = defaultdict(set)
    interfaces: list[tuple[str, str]] = []
    unit_vrf: dict[str, str] = {}
    unit_addr: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        if m := re.match(r"^set routing-options autonomous-system (\d+)$", line):
            asn = int(m.group(1))
        elif m := re.match(r"^set policy-options as-list (\S+) members (\d+)$", line):
            as_lists[m.group(1)].add(int(m.group(2)))
        elif m := re.match(
            r"^set policy-options policy-statement (\S+) term \S+ from route-filter (\S+) prefix-length-range /(\d+)-/(\d+)$",
            line,
        ):
            policies[m.group(1)].add((m.group(2), int(m.group(3)), int(m.group(4))))
        elif m := re.match(r"^set interfaces (irb|lo0) unit (\d+) family inet6? address (\S+?)(?: primary)?$", line):
            unit_addr[f"{m.group(1)}.{m.group(2)}"].append(m.group(3))
        elif m := re.match(r"^set routing-instances (\S+) interface (\S+)$", line):
            unit_vrf[m.group(2)] = m.group(1)
        elif m := re.match(r"^set routing-instances (\S+) protocols bgp group (\S+) (.*)$", line):
            key = (m.group(1), m.group(2))
            s = groups.setdefault(key, Session(m.group(1)))
            rest = m.group(3)
            if r := re.match(r"local-address (\S+)$", rest):
                s.local_address = r.group(1)
            elif r := re.match(r"multihop ttl (\d+)$", rest):
                s.multihop = int(r.group(1))
            elif r := re.match(r"peer-as (\d+)$", rest):
                s.remote_as.add(int(r.group(1)))
            elif r := re.match(r"peer-as-list (\S+)$", rest):
                peer_as_list[key] = r.group(1)
            elif r := re.match(r"hold-time (\d+)$", rest):
                s.hold_time = int(r.group(1))
            elif r := re.match(r"family (inet6?) unicast", rest):
                s.families.add("ipv4" if r.group(1) == "inet" else "ipv6")
            elif r := re.match(r"import (\S+)$", rest):
                s.import_policies.add(r.group(1))
            elif r := re.match(r"allow (\S+)$", rest):
                allows[key].append(r.group(1))
    for key, name in peer_as_list.items():
        groups[key].remote_as |= as_lists[name]
    sessions: dict[str, Session] = {}
    for key, hosts in allows.items():
        for h in hosts:
            net = ip_network(h)
            assert net.prefixlen == net.max_prefixlen, f"allow {h} is not a single host"
            sessions[str(net.network_address)] = groups[key]
    for unit, addrs in unit_addr.items():
        interfaces.extend((unit_vrf.get(unit, "default"), a) for a in addrs)
    return Leaf(asn, sessions, interfaces, dict(policies))


PARSERS = {".frr.conf": parse_frr, ".cfg": parse_nxos, ".set": parse_junos_set}


def leaf_config(build: Path, leaf: str) -> Leaf:
    for ext, parse in PARSERS.items():
        path = build / "configs" / f"{leaf}{ext}"
        if path.exists():
            return parse(path.read_text(encoding="utf-8"))
    raise AssertionError(f"no rendered config of {leaf}")


def node_configs(build: Path) -> dict[str, AgentConfig]:
    return {
        p.relative_to(build / "agents").as_posix(): load_config(p)
        for p in sorted((build / "agents").glob("*/*.yaml"))
        if p.name != "configmap.yaml"
    }


# --------------------------------------------------------------------------- acceptance


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_agent_config_agrees_with_the_leaf_it_peers_with(builds: dict[str, Path], name: str) -> None:
    build = builds[name]
    inv = fabric.load(INVENTORIES / name).inventory
    expected_nodes = {
        f"{c.name}/{n.name}.yaml" for c in inv.kubernetes.clusters if c.speaker == "bgp-agent" for n in c.nodes
    }
    configs = node_configs(build)
    assert set(configs) == expected_nodes and configs
    leaves: dict[str, Leaf] = {}
    owners: dict[str, set[str]] = {}
    sessions_seen = 0
    for rel, cfg in configs.items():
        families_seen: set[str] = set()
        for peer in cfg.peers:
            leaf_name = (peer.name or "").removesuffix("-v6")
            leaf = leaves.get(leaf_name) or leaves.setdefault(leaf_name, leaf_config(build, leaf_name))
            assert peer.local_address is not None
            s = leaf.sessions.get(str(peer.local_address))
            assert s is not None, f"{rel}: {leaf_name} has no session with {peer.local_address}"
            # ASNs, both ends
            assert peer.asn == leaf.asn, f"{rel}: peer ASN {peer.asn}, {leaf_name} is {leaf.asn}"
            assert cfg.asn in s.remote_as, f"{rel}: ASN {cfg.asn}, {leaf_name} expects {s.remote_as}"
            # the leaf's end of the session is the agent's peer address: the leaf's own address
            # in the node's VRF (a loopback there), never the anycast gateway on the node's subnet
            assert s.local_address is not None, f"{rel}: {leaf_name} sets no session source toward the node"
            source = s.local_address
            if source in leaf.named:  # NX-OS: update-source loopbackN
                source = next((str(ip_interface(a).ip) for a in leaf.named[source]
                               if ip_interface(a).version == peer.address.version), source)
            assert source == str(peer.address), f"{rel}: {leaf_name} peers from {s.local_address}"
            mine = [(v, a) for v, a in leaf.interfaces if ip_interface(a).ip == peer.address]
            assert [v for v, _ in mine] == [s.vrf], (
                f"{rel}: {leaf_name} has {peer.address} on {mine}, not once in VRF {s.vrf}"
            )
            assert peer.local_address not in ip_interface(mine[0][1]).network, (
                f"{rel}: {leaf_name} peers from {peer.address}, an address on the node's subnet (the anycast gateway)"
            )
            owners.setdefault(str(peer.address), set()).add(leaf_name)
            # the session is one hop beyond the node's gateway: both ends allow that TTL
            assert s.multihop is not None and s.multihop == peer.multihop, (
                f"{rel}: multihop {peer.multihop}, {leaf_name} {s.multihop}"
            )
            # families and timers
            assert set(peer.families) == s.families, f"{rel}: families {peer.families} vs {s.families}"
            assert s.hold_time == peer.hold_time, f"{rel}: hold time {peer.hold_time}, {leaf_name} {s.hold_time}"
            families_seen |= s.families
            # what the leaf accepts is what the guard lets through, per family
            version = 4 if peer.address.version == 4 else 6
            lengths = cfg.guard.ipv4_lengths if version == 4 else cfg.guard.ipv6_lengths
            accepted = {
                a for pol in s.import_policies for a in leaf.accepted.get(pol, set())
                if ip_network(a[0]).version == version  # Junos: one policy, a term per family
            }
            guard = {
                (str(r), min(lengths), max(lengths)) for r in cfg.guard.allowed_ranges if r.version == version
            }
            assert accepted == guard, f"{rel}: {leaf_name} accepts {accepted}, the agent's guard {guard}"
            sessions_seen += 1
        assert families_seen, rel
    # every node session the leaves render belongs to some agent config (none forgotten)
    node_addrs = {
        str(a) for c in inv.kubernetes.clusters if c.speaker == "bgp-agent"
        for n in c.nodes for a in (n.address, n.address6) if a is not None
    }
    rendered = sum(1 for lf in leaves.values() for addr in lf.sessions if addr in node_addrs)
    assert rendered == sessions_seen
    # every leaf has its own peering address (issue 9 item 8: none is shared like the gateway)
    assert all(len(names) == 1 for names in owners.values()), owners


def test_the_v6_session_exists_only_where_node_and_network_have_ipv6(builds: dict[str, Path]) -> None:
    configs = node_configs(builds["shownet2024"])
    nke2 = configs["nke/nke-2.yaml"]  # IPv4 only in the inventory
    assert [p.families for p in nke2.peers] == [("ipv4",)]
    tanzu = configs["tanzu/tanzu-1.yaml"]
    assert [p.families for p in tanzu.peers] == [("ipv4",), ("ipv6",)]
    assert {type(r) for r in tanzu.guard.allowed_ranges} == {IPv4Network, IPv6Network}
    # per-node ASNs of a range cluster come from the ledger, a pinned one is honoured
    assert nke2.asn != configs["nke/nke-1.yaml"].asn == 64630


@pytest.mark.parametrize("name", EXAMPLES)
def test_configmap_holds_each_node_file_as_is(builds: dict[str, Path], name: str) -> None:
    for cm in sorted((builds[name] / "agents").glob("*/configmap.yaml")):
        doc = yaml.safe_load(cm.read_text(encoding="utf-8"))
        assert doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "bgp-agent"
        nodes = sorted(p for p in cm.parent.glob("*.yaml") if p.name != "configmap.yaml")
        assert sorted(doc["data"]) == sorted(p.name for p in nodes)
        for p in nodes:
            assert doc["data"][p.name] == p.read_text(encoding="utf-8")


def test_deploy_configmap_is_generated_from_the_lab_inventory_and_up_to_date() -> None:
    for path, text in deploy_files().items():
        assert path.exists(), f"{path} missing: run `make labs`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make labs`"
        doc = yaml.safe_load(text)
        # the daemonset mounts this ConfigMap and reads <node>.yaml
        ds = yaml.safe_load((ROOT / "deploy" / "daemonset.yaml").read_text(encoding="utf-8"))
        volumes = ds["spec"]["template"]["spec"]["volumes"]
        assert {"name": "config", "configMap": {"name": doc["metadata"]["name"]}} in volumes
        assert sorted(doc["data"]) == ["node1.yaml", "node2.yaml", "node3.yaml", "node4.yaml"]
        # its user sections (the anycast DNS example) survived the regeneration
        assert all("anycast-dns" in (split_user(v) or "") for v in doc["data"].values())


# --------------------------------------------------------------------------- the user section


def _lab(tmp_path: Path) -> tuple[fabric.Fabric, Path]:
    return fabric.load(INVENTORIES / "lab"), tmp_path / "out"


USER = """checks:
  resolver: {kind: dns, server: 127.0.0.1, qname: example.org., interval: 1, timeout: 0.5, rise: 2, fall: 2}
services:
  - {name: anycast-dns, prefixes: [198.51.100.53/32], check: resolver}
state_dir: /run/bgp-agent-node1
"""


def test_user_section_survives_regeneration_and_inventory_changes(tmp_path: Path) -> None:
    fab, out = _lab(tmp_path)
    fab.build(out)
    node1 = out / "agents" / "lab" / "node1.yaml"
    node1.write_text(node1.read_text() + USER)
    # change what the fabric owns: the cluster's max prefixes
    inv = tmp_path / "inv"
    shutil.copytree(INVENTORIES / "lab", inv)
    k8s = inv / "kubernetes.yaml"
    k8s.write_text(k8s.read_text().replace("max_prefixes: 100", "max_prefixes: 42"))
    fabric.load(inv).build(out)
    cfg = load_config(node1)
    assert cfg.guard.max_prefixes == 42
    assert [s.name for s in cfg.services] == ["anycast-dns"] and "resolver" in cfg.checks
    assert str(cfg.state_dir) == "/run/bgp-agent-node1"
    assert (split_user(node1.read_text()) or "").endswith(USER)
    cm = yaml.safe_load((out / "agents" / "lab" / "configmap.yaml").read_text())
    assert cm["data"]["node1.yaml"] == node1.read_text()
    # a rebuild changes nothing
    again = fabric.load(inv).build(out)
    assert not [p for p in again.written if "agents" in p.parts]


def test_an_edit_in_the_configmap_is_kept_too(tmp_path: Path) -> None:
    fab, out = _lab(tmp_path)
    fab.build(out)
    cm = out / "agents" / "lab" / "configmap.yaml"
    text = cm.read_text()
    marker_at = text.index(USER_MARKER)  # node1's entry comes first
    end = text.index("  node2.yaml: |")
    cm.write_text(text[:end] + "".join(f"    {ln}\n" for ln in USER.splitlines()) + text[end:])
    assert marker_at < end
    fabric.load(INVENTORIES / "lab").build(out)
    cfg = load_config(out / "agents" / "lab" / "node1.yaml")
    assert [s.name for s in cfg.services] == ["anycast-dns"]


def test_both_copies_edited_differently_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    fab, out = _lab(tmp_path)
    fab.build(out)
    node1 = out / "agents" / "lab" / "node1.yaml"
    cm = out / "agents" / "lab" / "configmap.yaml"
    node1.write_text(node1.read_text() + "drain: {delay: 5}\n")
    cm.write_text(cm.read_text().replace("  node2.yaml: |", "    drain: {delay: 7}\n  node2.yaml: |"))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(InventoryError) as e:
        fabric.load(INVENTORIES / "lab").build(out)
    (problem,) = e.value.problems
    assert problem.file == "agents/lab/configmap.yaml" and problem.path == "data.node1.yaml"
    assert "both changed" in problem.message
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_bad_user_sections_every_problem_with_file_and_line_exit_2(tmp_path: Path) -> None:
    fab, out = _lab(tmp_path)
    fab.build(out)
    node1 = out / "agents" / "lab" / "node1.yaml"
    text = node1.read_text()
    node1.write_text(text + "peers: []\nservices:\n  - {name: x, prefixes: [198.51.100.1/32], check: nope}\n")
    node2 = out / "agents" / "lab" / "node2.yaml"
    node2.write_text(node2.read_text().replace(USER_MARKER + "\n", ""))
    first_user_line = text.count("\n") + 1
    result = CliRunner().invoke(main, ["build", str(INVENTORIES / "lab"), "-o", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert f"agents/lab/node1.yaml:{first_user_line}: peers: set by `fabric build` from the inventory " \
           "(above the user-section line); remove it from the user section" in lines
    assert f"agents/lab/node1.yaml:{first_user_line + 2}: services[0].check: no check named 'nope' in checks" in lines
    assert any(ln.startswith("agents/lab/node2.yaml: <root>: the user-section line is missing") for ln in lines)
    assert lines[-1] == "3 problem(s); nothing was written"
    assert "Traceback" not in result.output


def test_fabric_keys_are_the_ones_the_fabric_writes(builds: dict[str, Path]) -> None:
    text = (builds["lab"] / "agents" / "lab" / "node1.yaml").read_text()
    fabric_part = text[: text.index(USER_MARKER)]
    top = {k for k in (yaml.safe_load(fabric_part) or {})}
    assert top == FABRIC_KEYS


def test_removed_node_fresh_file_goes_edited_file_stays(tmp_path: Path) -> None:
    fab, out = _lab(tmp_path)
    fab.build(out)
    node4 = out / "agents" / "lab" / "node4.yaml"
    node3 = out / "agents" / "lab" / "node3.yaml"
    node3.write_text(node3.read_text() + USER)
    inv = tmp_path / "inv"
    shutil.copytree(INVENTORIES / "lab", inv)
    k8s = inv / "kubernetes.yaml"
    k8s.write_text("\n".join(ln for ln in k8s.read_text().splitlines() if "node3" not in ln and "node4" not in ln) + "\n")
    result = fabric.load(inv).build(out)
    assert not node4.exists() and node4 in result.removed
    assert node3.exists() and result.kept == [node3]
    cm = yaml.safe_load((out / "agents" / "lab" / "configmap.yaml").read_text())
    assert sorted(cm["data"]) == ["node1.yaml", "node2.yaml"]


def test_generated_configs_route_only_host_routes(builds: dict[str, Path]) -> None:
    for cfg in node_configs(builds["shownet2024"]).values():
        assert cfg.guard.ipv4_lengths == (32,) and cfg.guard.ipv6_lengths == (128,)
        assert cfg.router_id == cfg.peers[0].local_address
        assert all(ip_address(str(p.address)) != p.local_address for p in cfg.peers)
