"""A containerlab topology (``<fabric>.clab.yml``) of the same fabric.

Kinds per platform, and how a switch port becomes a container interface. The VM-based kinds
(vrnetlab) keep ``eth0`` for management and hand ``eth1``, ``eth2``, ... to the VM's data
ports in order:

=========  ======================  ===============  ===================  ==========
platform   kind                    native port      container interface  data ports
=========  ======================  ===============  ===================  ==========
junos      juniper_vjunosswitch    (et|xe|ge)-0/0/N eth(N+1)             10
nxos       cisco_n9kv              Ethernet1/N      ethN                 128
frr        linux (FRR image)       any Linux name   the same name        any
=========  ======================  ===============  ===================  ==========

Sources: containerlab docs, https://containerlab.dev/manual/kinds/vr-vjunosswitch/
("et-0/0/0 - first data port ... eth1 - first data interface, mapped to ... et-0/0/0") and
https://containerlab.dev/manual/kinds/vr-n9kv/ ("Ethernet1/1 - first data port ... eth1 -
first data interface ... rendered as Ethernet1/1"); port counts from vrnetlab's launch.py
(vJunos-switch: 11 NICs including management; n9kv: 129). Links are written as ``ethN``,
which every containerlab release accepts for these kinds (older ones accept nothing else).

A QFX5120 uses port numbers vJunos-switch does not have (``et-0/0/48``), and ``xe-0/0/0``
and ``et-0/0/0`` differ on the hardware but are the same port number to containerlab. When
a device's ports do not map one-to-one into its kind's data ports, its ports are renumbered
in order (fabric links first, then access ports) onto the kind's ports, and the node carries
a comment with the mapping: the startup config still names the hardware ports, so those
interface stanzas are renamed for the lab: :func:`lab_config` rewrites a copy of the
startup config (``clab-configs/<device>.conf`` beside ``configs/``) onto the lab port
names, and the node boots from that copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from fabric.design.intent import Device
from fabric.export.text import yaml_comment, yaml_str
from fabric.export.view import NODE_PORT, ExportError, FabricView, link_end
from fabric.platforms import Platform


@dataclass(frozen=True)
class KindSpec:
    """How a platform runs in containerlab."""

    kind: str
    image: str
    config_suffix: str
    data_ports: int | None  # None: any number (Linux interfaces)
    native: Callable[[str], int | None]  # hardware port name -> 0-based data port, or None
    lab_name: Callable[[int], str]  # 0-based data port -> native lab port name
    container: Callable[[str, int], str]  # (port name, 0-based data port) -> container interface


_JUNOS_RE = re.compile(r"^(?:et|xe|ge)-0/0/(\d+)$")
_NXOS_RE = re.compile(r"^(?:Ethernet|Eth|Et)1/(\d+)$")


def _junos_native(port: str) -> int | None:
    m = _JUNOS_RE.match(port)
    return int(m.group(1)) if m else None


def _nxos_native(port: str) -> int | None:
    m = _NXOS_RE.match(port)
    return int(m.group(1)) - 1 if m else None


KINDS: dict[Platform, KindSpec] = {
    "junos": KindSpec(
        "juniper_vjunosswitch", "vrnetlab/juniper_vjunos-switch:23.2R1.14", ".conf", 10,
        _junos_native, lambda i: f"ge-0/0/{i}", lambda _p, i: f"eth{i + 1}",
    ),
    "nxos": KindSpec(
        "cisco_n9kv", "vrnetlab/cisco_n9kv:9300-10.3.2", ".cfg", 128,
        _nxos_native, lambda i: f"Ethernet1/{i + 1}", lambda _p, i: f"eth{i + 1}",
    ),
    # a Linux container takes any interface name, so FRR keeps the names its config uses
    "frr": KindSpec(
        "linux", "quay.io/frrouting/frr:8.4.1", ".frr.conf", None,
        lambda _p: None, lambda i: f"swp{i + 1}", lambda p, _i: p,
    ),
}

NODE_IMAGE = "ghcr.io/hellt/network-multitool"
"""Image of Kubernetes nodes and hosts: a Linux box with iproute2 to address its NIC."""


@dataclass(frozen=True)
class PortMap:
    """One device's ports: hardware name -> container interface, and whether they were
    renumbered (hardware name -> lab port name) to fit the kind."""

    interfaces: dict[str, str]
    renumbered: dict[str, str]


def port_map(dev: Device, ports: list[str]) -> PortMap:
    """Container interfaces for ``ports`` (in cable order) of ``dev``. Direct mapping when
    every port maps to a distinct data port the kind has; otherwise ports are renumbered
    in the given order."""
    spec = KINDS[dev.platform]
    if spec.data_ports is None:
        return PortMap({p: spec.container(p, i) for i, p in enumerate(ports)}, {})
    direct = [spec.native(p) for p in ports]
    if all(d is not None and d < spec.data_ports for d in direct) and len(set(direct)) == len(direct):
        return PortMap({p: spec.container(p, d) for p, d in zip(ports, direct, strict=True) if d is not None}, {})
    # more ports than the virtual switch has stays visible as a too-high ethN: containerlab
    # refuses it at deploy, which is better than silently dropping a cable
    return PortMap(
        {p: spec.container(p, i) for i, p in enumerate(ports)},
        {p: spec.lab_name(i) for i, p in enumerate(ports)},
    )


_PORT_WORD = re.compile(r"(?<![\w/.-])((?:et|xe|ge)-0/0/\d+|(?:Ethernet|Eth|Et)1/\d+)(?![\d/])")


def lab_config(text: str, renumbered: dict[str, str]) -> str:
    """``text`` (a startup config) with every hardware port of ``renumbered`` replaced by
    its lab port name; unit suffixes (``et-0/0/48.0``) follow their port."""
    if not renumbered:
        return text
    return _PORT_WORD.sub(lambda m: renumbered.get(m.group(1), m.group(1)), text)


def renumbered_devices(view: FabricView) -> dict[str, PortMap]:
    """Devices whose ports had to be renumbered to fit their kind, with their port maps."""
    out: dict[str, PortMap] = {}
    for d in view.devices:
        pm = port_map(d, device_ports(view, d.name))
        if pm.renumbered:
            out[d.name] = pm
    return out


def _mgmt_subnet(view: FabricView) -> IPv4Network | None:
    """The smallest network holding every switch's management address (containerlab has one
    management network per lab)."""
    nets = [d.mgmt.network for d in view.devices if d.mgmt is not None]
    if not nets:
        return None
    net = nets[0]
    while not all(n.subnet_of(net) for n in nets):
        net = net.supernet()
    return net


def _node_mgmt(view: FabricView, subnet: IPv4Network | None) -> dict[str, IPv4Address]:
    """Management addresses for Kubernetes nodes, which the inventory does not give: taken
    from the top of the management subnet downwards, skipping the switches' addresses, so
    that containerlab never hands out a switch's address dynamically first."""
    if subnet is None:
        return {}
    used = {d.mgmt.ip for d in view.devices if d.mgmt is not None}
    out: dict[str, IPv4Address] = {}
    candidate = subnet.broadcast_address - 1
    for n in view.nodes:
        while candidate in used:
            candidate -= 1
        if candidate <= subnet.network_address + 1:
            raise ExportError(f"management subnet {subnet} has no room for node {n.name}")
        out[n.name] = candidate
        used.add(candidate)
    return out


def device_ports(view: FabricView, name: str) -> list[str]:
    """Ports of ``name`` in cable order (fabric, DCI, access)."""
    return [link_end(k, name)[0] for k in view.links_of(name)] + [n.port for n in view.nodes_on(name)]


def clab_yaml(view: FabricView, config_dir: str = "configs", lab_config_dir: str = "clab-configs") -> str:
    """The containerlab topology as YAML text. ``config_dir`` is where the startup configs
    are, relative to the topology file; ``lab_config_dir`` where the copies renamed onto
    lab ports are (for devices whose ports had to be renumbered)."""
    subnet = _mgmt_subnet(view)
    node_mgmt = _node_mgmt(view, subnet)
    maps = {d.name: port_map(d, device_ports(view, d.name)) for d in view.devices}
    lines = [
        f"# containerlab topology of fabric {yaml_comment(view.name)}, generated by `fabric build`; do not edit.",
        "# Switch ports -> container interfaces: see fabric/export/clab.py (containerlab kind docs).",
        f"name: {yaml_str(view.name)}",
    ]
    if subnet is not None:
        lines += [
            "mgmt:",
            f"  network: {yaml_str(view.name + '-mgmt')}",
            f"  ipv4-subnet: {yaml_str(subnet)}",
        ]
    lines += ["topology:", "  kinds:"]
    for platform in sorted({d.platform for d in view.devices}):
        spec = KINDS[platform]
        lines += [f"    {spec.kind}:", f"      image: {yaml_str(spec.image)}"]
    lines += ["  nodes:"]
    for d in view.devices:
        spec = KINDS[d.platform]
        pm = maps[d.name]
        lines.append(f"    {yaml_str(d.name)}:")
        if pm.renumbered:
            lines.append(f"      # {spec.kind} has {spec.data_ports} data ports; lab ports for this device:")
            lines += [f"      #   {yaml_comment(hw)} -> {yaml_comment(lab)} ({pm.interfaces[hw]})"
                      for hw, lab in pm.renumbered.items()]
        lines.append(f"      kind: {spec.kind}")
        if d.mgmt is not None:
            lines.append(f"      mgmt-ipv4: {yaml_str(d.mgmt.ip)}")
        config = f"{lab_config_dir if pm.renumbered else config_dir}/{d.name}{spec.config_suffix}"
        if d.platform == "frr":
            # the linux kind has no startup-config: FRR reads the bind-mounted /etc/frr/frr.conf
            lines += ["      binds:", f"        - {yaml_str(config + ':/etc/frr/frr.conf')}"]
        else:
            lines.append(f"      startup-config: {yaml_str(config)}")
        lines += ["      labels:", f"        role: {d.role}", f"        platform: {d.platform}",
                  f"        model: {yaml_str(d.model)}"]
        if d.site:
            lines.append(f"        site: {yaml_str(d.site)}")
    for n in view.nodes:
        lines += [f"    {yaml_str(n.name)}:", "      kind: linux", f"      image: {yaml_str(NODE_IMAGE)}"]
        if n.name in node_mgmt:
            lines.append(f"      mgmt-ipv4: {yaml_str(node_mgmt[n.name])}")
        lines += ["      labels:", "        role: k8s-node", f"        cluster: {yaml_str(n.cluster)}"]
        cmds = []
        cmds.append(f"ip addr add {n.address} dev {NODE_PORT}")
        if n.address6 is not None:
            cmds.append(f"ip -6 addr add {n.address6} dev {NODE_PORT}")
        if cmds:
            lines.append("      exec:")
            lines += [f"        - {yaml_str(c)}" for c in cmds]
    lines.append("  links:")
    cables: list[tuple[str, str, str, str, str]] = [(k.kind, k.a.device, k.a.port, k.b.device, k.b.port) for k in view.links]
    cables += [("access", n.leaf, n.port, n.name, NODE_PORT) for n in view.access]
    for kind, a_dev, a_port, b_dev, b_port in cables:
        a = _endpoint(view, maps, a_dev, a_port)
        b = _endpoint(view, maps, b_dev, b_port)
        lines.append(f"    - endpoints: [{yaml_str(a)}, {yaml_str(b)}]  # {kind}: "
                     f"{yaml_comment(a_dev)} {yaml_comment(a_port)} -- {yaml_comment(b_dev)} {yaml_comment(b_port)}")
    return "\n".join(lines) + "\n"


def _endpoint(view: FabricView, maps: dict[str, PortMap], device: str, port: str) -> str:
    if view.has_device(device):
        return f"{device}:{maps[device].interfaces[port]}"
    return f"{device}:{port}"

