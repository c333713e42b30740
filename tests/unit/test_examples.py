"""The example inventories and the scale generator produce valid, sensible fabrics."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from fabric.api import load
from fabric.model import Inventory
from fabric.platforms import MODELS

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ROOT / "inventories"
EXAMPLES = ["shownet2024", "shownet2024-dci", "lab"]
LEDGER = "allocations.yaml"
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_gen() -> ModuleType:
    path = ROOT / "tests" / "bench" / "gen_fabric.py"
    spec = importlib.util.spec_from_file_location("gen_fabric", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_fabric", mod)
    spec.loader.exec_module(mod)
    return mod


gen = _load_gen()


def merged(files: dict[str, str]) -> dict[str, Any]:
    """Merge the top-level keys of YAML texts; a key defined twice fails the test."""
    data: dict[str, Any] = {}
    for name, text in sorted(files.items()):
        doc = yaml.load(text, Loader=YAML_LOADER)
        assert isinstance(doc, dict), name
        for key, value in doc.items():
            assert key not in data, f"top-level key {key!r} is defined twice ({name})"
            data[key] = value
    return data


def read_folder(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml")) if p.name != LEDGER}


def model_of(name: str) -> Inventory:
    return Inventory.model_validate(merged(read_folder(INVENTORIES / name)))


def leaves_of_network(inv: Inventory, network: str) -> set[str]:
    net = next(n for n in inv.networks() if n.name == network)
    if net.leaves == "all":
        return {lf.name for lf in inv.leaves}
    return set(net.leaves) | {lf.name for lf in inv.leaves if lf.rack in net.racks}


def uplinks_in_use(inv: Inventory) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {lf.name: set() for lf in inv.leaves}
    if inv.cabling is None:
        for lf in inv.leaves:
            used[lf.name] |= set(MODELS[lf.model].uplinks[: len(inv.spines)])
    else:
        for link in inv.cabling:
            used[link.leaf].add(link.leaf_port)
    for d in inv.dci_links:
        used[d.a].add(d.a_port)
        used[d.b].add(d.b_port)
    return used


def overlapping(nets: list[IPv4Network | IPv6Network]) -> list[tuple[str, str]]:
    """Pairs of overlapping networks (sorted sweep: fast for thousands of networks)."""
    out = []
    for version in (4, 6):
        last: IPv4Network | IPv6Network | None = None
        for n in sorted((n for n in nets if n.version == version), key=lambda n: (n.network_address, n.prefixlen)):
            if last is not None and n.network_address <= last.broadcast_address:
                out.append((str(last), str(n)))
            if last is None or n.broadcast_address > last.broadcast_address:
                last = n
    return out


def check_sound(inv: Inventory) -> None:
    """What every example and generated inventory must satisfy beyond the schema."""
    dupes = lambda names: [n for n, c in Counter(names).items() if c > 1]  # noqa: E731
    assert dupes([d.name for d in inv.switches()]) == []
    assert dupes([t.name for t in inv.tenants]) == []
    assert dupes([v.name for v in inv.vrfs()]) == []
    assert dupes([n.name for n in inv.networks()]) == []
    assert dupes([c.name for c in inv.kubernetes.clusters]) == []
    assert dupes([n.name for c in inv.kubernetes.clusters for n in c.nodes]) == []
    assert dupes([str(d.mgmt.ip) for d in inv.switches() if d.mgmt]) == []

    for d in inv.switches():
        assert MODELS[d.model].platform == d.platform, d.name

    vrfs = {v.name for v in inv.vrfs()}
    subnets: list[IPv4Network | IPv6Network] = []
    for net in inv.networks():
        assert net.vrf in vrfs, net.name
        assert net.gateway4 is not None, net.name
        subnets.append(net.gateway4.network)
        if net.gateway6 is not None:
            subnets.append(net.gateway6.network)
        assert leaves_of_network(inv, net.name), f"{net.name} is on no leaf"
    assert overlapping(subnets) == []

    pools: list[IPv4Network | IPv6Network] = [inv.pools.loopback, inv.pools.vtep, inv.pools.p2p]
    if inv.pools.p2p_v6 is not None:
        pools.append(inv.pools.p2p_v6)
    leaves = {lf.name: lf for lf in inv.leaves}
    cabled = uplinks_in_use(inv)
    node_ports: set[tuple[str, str]] = set()
    services: list[IPv4Network | IPv6Network] = []
    for c in inv.kubernetes.clusters:
        net = next(n for n in inv.networks() if n.name == c.network)
        on = leaves_of_network(inv, c.network)
        for node in c.nodes:
            assert net.gateway4 is not None
            assert node.address in net.gateway4.network, node.name
            assert node.address != net.gateway4.ip, node.name
            if node.address6 is not None:
                assert net.gateway6 is not None and node.address6 in net.gateway6.network, node.name
            assert node.leaf in on, f"{node.name}: network {net.name} is not on {node.leaf}"
            hw = MODELS[leaves[node.leaf].model]
            assert node.port in hw.downlinks, f"{node.name}: {hw.name} has no downlink {node.port}"
            assert node.port not in cabled[node.leaf], f"{node.name}: {node.leaf} {node.port} is an uplink"
            assert (node.leaf, node.port) not in node_ports, f"{node.name}: port used twice"
            node_ports.add((node.leaf, node.port))
        assert {r.version for r in c.service_ranges} == {4, 6}, c.name
        services.extend(c.service_ranges)
    assert overlapping([*services, *pools, *subnets]) == []


# ---------------------------------------------------------------- example inventories


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_files_and_keys(name: str) -> None:
    folder = INVENTORIES / name
    files = read_folder(folder)
    assert {"fabric.yaml", "tenants.yaml", "kubernetes.yaml"} <= set(files) <= {
        "fabric.yaml", "tenants.yaml", "kubernetes.yaml", "servers.yaml"}
    keys = {f: set(yaml.safe_load(t)) for f, t in files.items()}
    if "servers.yaml" in keys:
        assert keys["servers.yaml"] == {"servers"}
    assert keys["tenants.yaml"] == {"tenants"}
    assert keys["kubernetes.yaml"] == {"kubernetes"}
    assert {"fabric", "pools", "spines", "leaves"} <= keys["fabric.yaml"]
    assert (folder / LEDGER).is_file(), "the ledger ships with the example"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_sound(name: str) -> None:
    check_sound(model_of(name))


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_loads_and_ledger_is_current(name: str) -> None:
    fab = load(INVENTORIES / name)
    assert fab.name == name
    assert not fab.plan().changed, "allocations.yaml is stale: run `fabric plan`"


def test_shownet2024_shape() -> None:
    inv = model_of("shownet2024")
    assert [(s.platform, s.model) for s in inv.spines] == [("nxos", "n9k-9332c")] * 2
    servers = [lf for lf in inv.leaves if lf.role == "server"]
    borders = [lf for lf in inv.leaves if lf.role == "border"]
    assert {lf.model for lf in servers} == {"qfx5120-48y", "n9k-93180yc-fx"}
    assert len(servers) == 6 and len({lf.rack for lf in servers}) == 3
    assert len(borders) == 2 and {b.pair for b in borders} == {b.name for b in borders}
    by_name = {lf.name: lf for lf in inv.leaves}
    for lf in inv.leaves:
        assert lf.pair is not None and by_name[lf.pair].pair == lf.name
        assert by_name[lf.pair].rack == lf.rack
    assert {lf.site for lf in inv.leaves} | {s.site for s in inv.spines} == {"dc1"}

    # explicit cabling: each leaf uplink to each spine, on ports the models have
    assert inv.cabling is not None and len(inv.cabling) == len(inv.leaves) * len(inv.spines)
    models = {d.name: MODELS[d.model] for d in inv.switches()}
    assert {(c.leaf, c.spine) for c in inv.cabling} == {(lf.name, s.name) for lf in inv.leaves for s in inv.spines}
    for c in inv.cabling:
        assert c.leaf_port in models[c.leaf].uplinks
        assert c.spine_port in models[c.spine].downlinks
    assert len({(c.spine, c.spine_port) for c in inv.cabling}) == len(inv.cabling)
    assert len({(c.leaf, c.leaf_port) for c in inv.cabling}) == len(inv.cabling)

    assert {t.name for t in inv.tenants} >= {"shownet-noc", "exhibitors", "k8s"}
    everywhere = [n for n in inv.networks() if n.leaves == "all"]
    subset = [n for n in inv.networks() if n.leaves != "all"]
    assert everywhere and subset
    assert any(n.racks for n in subset) and any(n.leaves and not n.racks for n in subset)

    clusters = {c.name: c for c in inv.kubernetes.clusters}
    assert set(clusters) == {"ocp", "vanilla", "tanzu", "nke"}
    assert any(c.shared_asn for c in clusters.values()) and not all(c.shared_asn for c in clusters.values())
    for c in clusters.values():
        assert len({n.leaf for n in c.nodes}) >= 2, f"{c.name} lives on one leaf"


def test_shownet2024_dci_shape() -> None:
    inv = model_of("shownet2024-dci")
    assert {s.name for s in inv.fabric.sites} == {"dc1", "dc2"}
    site = {d.name: d.site for d in inv.switches()}
    roles = {lf.name: lf.role for lf in inv.leaves}
    assert inv.dci_links
    for d in inv.dci_links:
        assert roles[d.a] == roles[d.b] == "border"
        assert site[d.a] != site[d.b]
    assert inv.cabling is not None
    for c in inv.cabling:
        assert site[c.leaf] == site[c.spine], "cabling crosses sites"
    for s in ("dc1", "dc2"):
        assert any(lf.role == "border" and lf.site == s for lf in inv.leaves)
    (dns,) = inv.kubernetes.clusters
    assert {site[n.leaf] for n in dns.nodes} == {"dc1", "dc2"}


def test_lab_shape() -> None:
    inv = model_of("lab")
    assert len(inv.spines) == 2 and len(inv.leaves) == 4
    assert {(d.platform, d.model) for d in inv.switches()} == {("frr", "frr")}
    assert all(d.mgmt is not None for d in inv.switches())
    assert inv.cabling is None
    assert len(inv.vrfs()) == 1
    assert len(inv.networks()) == 2 and all(n.leaves == "all" for n in inv.networks())
    (cluster,) = inv.kubernetes.clusters
    assert len(cluster.nodes) == 4
    assert sorted(n.leaf for n in cluster.nodes) == sorted(lf.name for lf in inv.leaves)
    assert {str(r) for r in cluster.service_ranges} == {"198.51.100.0/24", "2001:db8:5e::/64"}


# ---------------------------------------------------------------- scale generator


def test_generator_shape() -> None:
    files = gen.generate(3, 5, 7, 3, tenants=2, platforms=("junos", "nxos", "frr"))
    assert set(files) == {"fabric.yaml", "tenants.yaml", "kubernetes.yaml"}
    inv = Inventory.model_validate(merged(files))
    assert [s.name for s in inv.spines] == ["spine1", "spine2", "spine3"]
    assert {(s.platform, s.model) for s in inv.spines} == {("nxos", "n9k-9332c")}
    assert [(lf.platform, lf.model) for lf in inv.leaves] == [
        ("junos", "qfx5120-48y"), ("nxos", "n9k-93180yc-fx"), ("frr", "frr"),
        ("junos", "qfx5120-48y"), ("nxos", "n9k-93180yc-fx"),
    ]
    assert inv.cabling is None
    assert len(inv.tenants) == 2 and len(inv.vrfs()) == 3 and len(inv.networks()) == 7
    per_vrf = Counter(n.vrf for n in inv.networks())
    assert sorted(per_vrf.values()) == [2, 2, 3]
    for t in inv.tenants:  # a tenant's networks are in its own VRFs
        assert {n.vrf for n in t.networks} <= {v.name for v in t.vrfs}
    for n in inv.networks():
        assert n.leaves == "all" and n.gateway4 is not None and n.gateway6 is not None
    (cluster,) = inv.kubernetes.clusters
    assert [n.leaf for n in cluster.nodes] == [lf.name for lf in inv.leaves]
    check_sound(inv)


def test_generator_is_deterministic_and_loads(tmp_path: Path) -> None:
    a = gen.generate(2, 6, 10, 4, tenants=2)
    assert a == gen.generate(2, 6, 10, 4, tenants=2)
    paths = gen.write(tmp_path / "inv", 2, 6, 10, 4, tenants=2)
    assert sorted(p.name for p in paths) == sorted(a)
    fab = load(tmp_path / "inv")
    assert len(fab.inventory.leaves) == 6 and len(fab.inventory.networks()) == 10
    assert fab.plan().changed  # a fresh inventory has everything to allocate


def test_generator_models_follow_port_counts() -> None:
    # a 32-port spine takes 32 leaves; beyond that the spines become frr
    small = Inventory.model_validate(merged(gen.generate(2, 32, 2, 1)))
    assert {s.model for s in small.spines} == {"n9k-9332c"}
    big = Inventory.model_validate(merged(gen.generate(2, 33, 2, 1)))
    assert {(s.platform, s.model) for s in big.spines} == {("frr", "frr")}
    junos_only = Inventory.model_validate(merged(gen.generate(2, 4, 2, 1, platforms=("junos",))))
    assert {s.model for s in junos_only.spines} == {"qfx5120-32c"}
    # 8 spines exceed the 93180YC-FX's 6 uplinks: nxos leaves take the 9332C, still nxos
    wide = Inventory.model_validate(merged(gen.generate(8, 4, 2, 1)))
    assert [(lf.platform, lf.model) for lf in wide.leaves[:2]] == [("junos", "qfx5120-48y"), ("nxos", "n9k-9332c")]
    check_sound(wide)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((40, 4, 2, 1), "uplinks"),
        ((2, 4, 4090, 5), "VLANs do not fit"),
        ((2, 4, 4, 2, 3), "tenants"),
        ((2, 4, 0, 1), "SVI"),
    ],
)
def test_generator_rejects_impossible_shapes(args: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gen.generate(*args)


def test_generator_vlan_pool_fits_the_bench_shape() -> None:
    files = gen.generate(8, 1024, 4000, 64)
    inv = Inventory.model_validate(merged(files))
    assert len(inv.networks()) == 4000 and len(inv.vrfs()) == 64 and len(inv.leaves) == 1024
    assert len(inv.pools.vlan) >= 4000 + 64
    check_sound(inv)


def test_generator_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    rc = gen.main(["--spines", "2", "--leaves", "3", "--svis", "4", "--vrfs", "2", "--platforms", "frr", "-o", str(out)])
    assert rc == 0
    assert (out / "fabric.yaml").read_text() == gen.generate(2, 3, 4, 2, platforms=("frr",))["fabric.yaml"]
    assert gen.main(["--spines", "2", "--leaves", "3", "--svis", "4", "--vrfs", "2", "--platforms", "eos",
                     "-o", str(out)]) == 2
    assert "unknown platform" in capsys.readouterr().err
