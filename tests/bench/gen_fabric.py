#!/usr/bin/env python3
"""Generate an inventory of a given shape, so every benchmark and comparison uses the same input.

    gen_fabric.py --spines S --leaves L --svis N --vrfs V [--tenants T] [--platforms junos,nxos] -o DIR

Shape:

- ``L`` leaves take the listed platforms in turn (``junos`` -> qfx5120-48y, ``nxos`` ->
  n9k-93180yc-fx, ``frr`` -> frr), two leaves per rack as a redundant pair;
- ``S`` spines on ``n9k-9332c`` if ``nxos`` is listed, else ``qfx5120-32c`` if ``junos`` is,
  else ``frr``;
- ``N`` networks (SVIs) spread round-robin over ``V`` VRFs, the VRFs round-robin over ``T``
  tenants; every network on every leaf (``leaves: all``) with an IPv4 and IPv6 anycast gateway;
- one Kubernetes cluster with one node per leaf, on the first network;
- no explicit cabling: the loader's default full mesh (every leaf to every spine) names the ports.

Port counts decide the models. The default full mesh needs one spine downlink per leaf and
one leaf uplink per spine. A 32-port spine (n9k-9332c, qfx5120-32c) takes at most 32 leaves;
with more leaves the spines become platform ``frr`` / model ``frr`` (4096 ports), whose
generated port names stand for whatever large chassis a real fabric of that size would use.
A leaf whose usual model has fewer uplinks than there are spines (n9k-93180yc-fx: 6,
qfx5120-48y: 8) takes the 32-port model of the same platform instead, so the platform
rotation is always what was asked for. More spines than any leaf model has uplinks is an error.

Output is deterministic: the same arguments give byte-identical files. The YAML is written as
text (no yaml.dump), which keeps 1024 leaves x 4000 SVIs well under a second.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from ipaddress import IPv4Address
from pathlib import Path

from fabric.platforms import MODELS

#: leaf models per platform, preferred first; the first with enough uplinks is used
LEAF_MODELS: dict[str, tuple[str, ...]] = {
    "junos": ("qfx5120-48y", "qfx5120-32c"),
    "nxos": ("n9k-93180yc-fx", "n9k-9332c"),
    "frr": ("frr",),
}
SPINE_FALLBACK = ("frr", "frr")

VLAN_FIRST = 2
VLAN_LAST_NXOS_SAFE = 3967  # NX-OS reserves 3968-4094 by default; used when the VLANs fit below it
VLAN_LAST = 4094

INFRA_BASE = int(IPv4Address("10.0.0.0"))
INFRA_END = int(IPv4Address("10.32.0.0"))  # loopback, VTEP and p2p pools live below this
K8S_BASE = "10.32.0.0"  # the cluster's node network (the first SVI), up to a /11
SVI_SECOND_OCTET = 64  # other SVIs: 10.64.0.0/24, 10.64.1.0/24, ... (16 /16s hold 4096 of them)
K8S_PEERING = "10.96.0.0/16"  # each leaf's own address toward the nodes (one per VRF with nodes)
K8S_PEERING_V6 = "fd00:fd::/64"
MGMT_BASE = int(IPv4Address("172.16.0.0"))
MGMT_PREFIX = 16

LEAF_ASN_FIRST = 4200000000  # RFC 6996 private 4-byte ASNs
LEAF_ASN_LAST = 4200999999
SPINE_ASN = "65000-65099"
K8S_ASN = 64512
SERVICE_RANGES = ("198.51.100.0/24", "2001:db8:5e::/64")
L2VNI = "10000-899999"
L3VNI = "900000-999999"


def spine_model_for(platforms: Sequence[str], leaves: int) -> tuple[str, str]:
    """(platform, model) of the spines: the real model for the listed platforms if it has a
    downlink for every leaf, else ``frr``."""
    if "nxos" in platforms:
        choice = ("nxos", "n9k-9332c")
    elif "junos" in platforms:
        choice = ("junos", "qfx5120-32c")
    else:
        choice = SPINE_FALLBACK
    if len(MODELS[choice[1]].downlinks) < leaves:
        return SPINE_FALLBACK
    return choice


def leaf_model_for(platform: str, spines: int) -> str:
    """The first leaf model of ``platform`` with an uplink for every spine."""
    for name in LEAF_MODELS[platform]:
        if len(MODELS[name].uplinks) >= spines:
            return name
    most = max(len(MODELS[n].uplinks) for n in LEAF_MODELS[platform])
    raise ValueError(f"{spines} spines need {spines} leaf uplinks; {platform} leaf models have at most {most}")


def node_port(model: str, spines: int) -> str:
    """The first host-facing port of a leaf that the default cabling leaves free."""
    hw = MODELS[model]
    taken = set(hw.uplinks[:spines])
    for port in hw.downlinks:
        if port not in taken:
            return port
    raise ValueError(f"model {model} has no free downlink with {spines} uplinks in use")


def _block(start: int, need: int) -> tuple[int, int]:
    """An aligned power-of-two block of at least ``2 * need`` addresses at or after ``start``:
    (network address, prefix length). Twice the need leaves room for growth."""
    bits = max(4, (2 * need - 1).bit_length())
    size = 1 << bits
    net = (start + size - 1) // size * size
    return net, 32 - bits


def _ip(n: int) -> str:
    return str(IPv4Address(n))


def _check_shape(spines: int, leaves: int, svis: int, vrfs: int, tenants: int, platforms: Sequence[str]) -> None:
    if spines < 1 or leaves < 1:
        raise ValueError("need at least one spine and one leaf")
    if svis < 1:
        raise ValueError("need at least one SVI (the Kubernetes nodes live on the first)")
    if vrfs < 1:
        raise ValueError("need at least one VRF")
    if not 1 <= tenants <= vrfs:
        raise ValueError(f"tenants must be between 1 and the number of VRFs ({vrfs}), got {tenants}")
    if not platforms:
        raise ValueError("need at least one platform")
    for p in platforms:
        if p not in LEAF_MODELS:
            raise ValueError(f"unknown platform {p!r}; expected one of {', '.join(LEAF_MODELS)}")
    if svis + vrfs > VLAN_LAST - VLAN_FIRST + 1:
        raise ValueError(
            f"{svis} SVIs + {vrfs} L3 VNI VLANs = {svis + vrfs} VLANs do not fit in "
            f"{VLAN_FIRST}-{VLAN_LAST} ({VLAN_LAST - VLAN_FIRST + 1})"
        )
    if spines + leaves > (1 << (32 - MGMT_PREFIX)) - 2:
        raise ValueError(f"{spines + leaves} devices do not fit the management /{MGMT_PREFIX}")


def generate(
    spines: int,
    leaves: int,
    svis: int,
    vrfs: int,
    tenants: int = 1,
    platforms: Sequence[str] = ("junos", "nxos"),
) -> dict[str, str]:
    """The inventory of this shape as ``{file name: YAML text}`` (fabric.yaml, tenants.yaml,
    kubernetes.yaml). Raises ValueError for a shape that cannot be built."""
    platforms = tuple(platforms)
    _check_shape(spines, leaves, svis, vrfs, tenants, platforms)
    spine_platform, spine_model = spine_model_for(platforms, leaves)
    leaf_models = {p: leaf_model_for(p, spines) for p in platforms}
    shape = (
        f"--spines {spines} --leaves {leaves} --svis {svis} --vrfs {vrfs} "
        f"--tenants {tenants} --platforms {','.join(platforms)}"
    )
    header = f"# generated by tests/bench/gen_fabric.py {shape}\n"

    # infrastructure pools, carved in order from 10.0.0.0 with room to grow
    lo_net, lo_len = _block(INFRA_BASE, spines + leaves)
    vtep_net, vtep_len = _block(lo_net + (1 << (32 - lo_len)), leaves)
    p2p_net, p2p_len = _block(vtep_net + (1 << (32 - vtep_len)), 2 * spines * leaves)
    if p2p_net + (1 << (32 - p2p_len)) > INFRA_END:
        raise ValueError(f"{spines} spines x {leaves} leaves do not fit the infrastructure pools below 10.32.0.0")
    vlans = svis + vrfs
    vlan_last = VLAN_LAST_NXOS_SAFE if vlans <= VLAN_LAST_NXOS_SAFE - VLAN_FIRST + 1 else VLAN_LAST

    f: list[str] = [
        header,
        "fabric:\n",
        f"  name: gen-{spines}x{leaves}\n",
        f"  description: \"generated: {spines} spines, {leaves} leaves, {svis} SVIs, {vrfs} VRFs, "
        f"{tenants} tenants\"\n",
        "  sites:\n",
        "    - name: dc1\n",
        "  underlay_ipv6: true\n",
        "  bfd: true\n",
        "\n",
        "pools:\n",
        f"  loopback: {_ip(lo_net)}/{lo_len}\n",
        f"  vtep: {_ip(vtep_net)}/{vtep_len}\n",
        f"  p2p: {_ip(p2p_net)}/{p2p_len}\n",
        "  p2p_v6: \"fd00:ff::/64\"\n",
        f"  k8s_peering: {K8S_PEERING}\n",
        f"  k8s_peering_v6: \"{K8S_PEERING_V6}\"\n",
        "  asn:\n",
        f"    spine: {SPINE_ASN}\n",
        f"    leaf: {LEAF_ASN_FIRST}-{LEAF_ASN_LAST}\n",
        "    spines_share: true\n",
        f"  l2vni: {L2VNI}\n",
        f"  l3vni: {L3VNI}\n",
        f"  vlan: {VLAN_FIRST}-{vlan_last}\n",
        "  anycast_gateway_mac: \"02:00:00:00:01:01\"\n",
        "\n",
        "spines:\n",
    ]
    mgmt = MGMT_BASE + 1
    for s in range(1, spines + 1):
        f.append(
            f"  - {{name: spine{s}, platform: {spine_platform}, model: {spine_model}, "
            f"mgmt: {_ip(mgmt)}/{MGMT_PREFIX}, site: dc1}}\n"
        )
        mgmt += 1
    f.append("\nleaves:\n")
    nplat = len(platforms)
    for i in range(leaves):
        platform = platforms[i % nplat]
        partner = i ^ 1
        pair = f", pair: leaf{partner + 1}" if partner < leaves else ""
        f.append(
            f"  - {{name: leaf{i + 1}, platform: {platform}, model: {leaf_models[platform]}, "
            f"mgmt: {_ip(mgmt)}/{MGMT_PREFIX}, site: dc1, rack: r{i // 2 + 1}{pair}, "
            # an IPv6 loopback for the IPv6 underlay to carry (without one it renders no sessions)
            f"loopback6: \"fd00:fe::{i + 1:x}\"}}\n"
        )
        mgmt += 1

    # tenants: VRF j belongs to tenant j % T, network i to VRF i % V
    k8s_bits = max(8, (leaves + 2).bit_length())
    k8s_base = int(IPv4Address(K8S_BASE))
    vrf_nets: list[list[int]] = [[] for _ in range(vrfs)]
    for i in range(svis):
        vrf_nets[i % vrfs].append(i)
    t: list[str] = [header, "tenants:\n"]
    for ti in range(tenants):
        mine = range(ti, vrfs, tenants)
        t.append(f"  - name: tenant{ti + 1}\n    vrfs:\n")
        t.extend(f"      - name: vrf{j + 1}\n" for j in mine)
        nets = sorted(i for j in mine for i in vrf_nets[j])
        if not nets:
            t.append("    networks: []\n")
            continue
        t.append("    networks:\n")
        for i in nets:
            if i == 0:
                gw4 = f"{_ip(k8s_base + 1)}/{32 - k8s_bits}"
            else:
                n = i - 1
                gw4 = f"10.{SVI_SECOND_OCTET + n // 256}.{n % 256}.1/24"
            t.append(
                f"      - name: net{i + 1}\n"
                f"        vrf: vrf{i % vrfs + 1}\n"
                f"        gateway4: {gw4}\n"
                f"        gateway6: \"fd00:10:{i:x}::1/64\"\n"
                f"        leaves: all\n"
            )

    k: list[str] = [
        header,
        "kubernetes:\n",
        "  clusters:\n",
        "    - name: bench\n",
        "      network: net1\n",
        f"      asn: {K8S_ASN}\n",
        f"      service_ranges: [{SERVICE_RANGES[0]}, \"{SERVICE_RANGES[1]}\"]\n",
        "      max_prefixes: 100\n",
        "      speaker: frr\n",  # a BFD-capable speaker, so the leaves render BFD toward the nodes
        "      bfd: true\n",
        "      nodes:\n",
    ]
    ports = {p: node_port(m, spines) for p, m in leaf_models.items()}
    for i in range(leaves):
        platform = platforms[i % nplat]
        k.append(
            f"        - {{name: node{i + 1}, leaf: leaf{i + 1}, port: {ports[platform]}, "
            f"address: {_ip(k8s_base + 2 + i)}, address6: \"fd00:10:0::{i + 2:x}\"}}\n"
        )
    return {"fabric.yaml": "".join(f), "tenants.yaml": "".join(t), "kubernetes.yaml": "".join(k)}


def write(
    directory: str | Path,
    spines: int,
    leaves: int,
    svis: int,
    vrfs: int,
    tenants: int = 1,
    platforms: Sequence[str] = ("junos", "nxos"),
) -> list[Path]:
    """Write the generated inventory into ``directory`` (created if needed); the paths written.
    An existing ``allocations.yaml`` there is left alone."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate(spines, leaves, svis, vrfs, tenants, platforms).items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written



def write_planned(directory: str | Path, spines: int, leaves: int, svis: int, vrfs: int, tenants: int = 1) -> Path:
    """:func:`write` the inventory into ``directory`` and plan its ledger there (what every
    build benchmark starts from); the folder."""
    import fabric  # the generator itself needs only the platform list

    d = Path(directory)
    write(d, spines, leaves, svis, vrfs, tenants)
    fab = fabric.load(d)
    fab.write_plan(fab.plan())
    return d

def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--spines", type=int, required=True)
    ap.add_argument("--leaves", type=int, required=True)
    ap.add_argument("--svis", type=int, required=True)
    ap.add_argument("--vrfs", type=int, required=True)
    ap.add_argument("--tenants", type=int, default=1)
    ap.add_argument("--platforms", default="junos,nxos", help="comma-separated: junos, nxos, frr")
    ap.add_argument("-o", "--output", required=True, help="inventory folder to write")
    args = ap.parse_args(argv)
    platforms = tuple(p.strip() for p in args.platforms.split(",") if p.strip())
    try:
        paths = write(args.output, args.spines, args.leaves, args.svis, args.vrfs, args.tenants, platforms)
    except ValueError as e:
        print(f"gen_fabric: {e}", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
