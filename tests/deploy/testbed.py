"""A fabric of test devices: one device speaking the real protocol per switch of an inventory.

``Testbed`` copies an inventory into a temporary folder, starts a Junos NETCONF test device
for every junos switch and an NX-API test device for every nxos switch (``tests.devices``),
each with a factory config (management, users, AAA, SNMP: what the fabric does not own, plus
a stale fabric object the deploy must remove), writes a known_hosts file with their host
keys and a ``deploy.yaml`` pointing every switch at its device. Credentials are given the
way a user gives them: ``FABRIC_USERNAME`` / ``FABRIC_PASSWORD`` in the environment.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import fabric
from fabric.api import Fabric

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Tb-Pa55w0rd-7731"  # the grep target of the no-password tests
USERNAME = "fabric-ops"


def devices_available() -> tuple[bool, str]:
    try:
        import tests.devices.junos  # noqa: F401
    except ImportError:
        return False, "tests.devices.junos (the Junos test device) is not in this tree yet"
    return True, ""


def nxos_available() -> bool:
    try:
        import tests.devices.nxos  # noqa: F401
    except ImportError:
        return False
    return True


def junos_factory(name: str, mgmt: str) -> str:
    return f"""\
system {{
    host-name {name}-factory;
    root-authentication {{
        encrypted-password "$6$rootsalt$0123456789abcdef";
    }}
    login {{
        user admin {{
            uid 2000;
            class super-user;
            authentication {{
                encrypted-password "$6$adminsalt$fedcba9876543210";
            }}
        }}
    }}
    services {{
        ssh;
        netconf {{
            ssh;
        }}
    }}
    syslog {{
        file messages {{
            any notice;
        }}
    }}
}}
snmp {{
    community noc-ro {{
        authorization read-only;
    }}
}}
interfaces {{
    em0 {{
        unit 0 {{
            family inet {{
                address {mgmt};
            }}
        }}
    }}
}}
vlans {{
    STALE-FABRIC-VLAN {{
        vlan-id 3999;
    }}
}}
"""


def nxos_factory(name: str, mgmt: str) -> str:
    return f"""\
hostname {name}-factory
feature nxapi
feature scp-server
username admin password 5 $5$adminsalt$0123456789abcdef  role network-admin
snmp-server community noc-ro group network-operator
vlan 3999
  name STALE-FABRIC-VLAN
interface mgmt0
  vrf member management
  ip address {mgmt}
vrf context management
  ip route 0.0.0.0/0 172.16.0.1
"""


@dataclass
class Testbed:
    __test__ = False  # not a test class (pytest would try to collect it)

    inv: Path
    devices: dict[str, Any]
    known_hosts: Path
    platforms: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)

    def fab(self) -> Fabric:
        return fabric.load(self.inv)

    def running(self) -> dict[str, str]:
        return {n: d.running_text() for n, d in self.devices.items()}

    def commits(self) -> dict[str, int]:
        return {n: d.commits for n, d in self.devices.items()}

    def subprocess_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}


def write_deploy_yaml(bed: Testbed, driver_junos: str, extra: dict[str, Any] | None = None) -> None:
    devices: dict[str, Any] = {}
    for name, dev in bed.devices.items():
        if bed.platforms[name] == "nxos":  # NX-API over http, SCP on the device's SSH port
            access: dict[str, Any] = {"host": dev.host, "port": dev.http_port,
                                      "options": {"transport": "http", "ssh_port": str(dev.ssh_port)}}
        else:
            access = {"host": dev.host, "port": dev.port}
        devices[name] = access
    doc: dict[str, Any] = {
        "known_hosts": str(bed.known_hosts), "timeout": 5, "revert_in": 60,
        "drivers": {"junos": driver_junos},
        "postchecks": {"timeout": 3, "interval": 0.2},
        "devices": devices,
    }
    doc.update(extra or {})
    (bed.inv / "deploy.yaml").write_text(yaml.safe_dump({"deploy": doc}, sort_keys=False), encoding="utf-8")


def outside_speakers(fab: Fabric, network: Any) -> None:
    """The BGP speakers outside the fabric, as the intent describes them, added to
    ``network``: every Kubernetes node (cabled to its leaf, peering with the leaf's address
    for it, as its bgp-agent does) and every external router (peering with its border)."""
    for leaf, intent in fab.design().items():
        for k in intent.kubernetes:
            for node in k.nodes:
                network.add_speaker(str(node.address), node.asn, [str(k.local_address)], leaf)
                if node.address6 is not None and k.local_address6 is not None:
                    network.add_speaker(str(node.address6), node.asn, [str(k.local_address6)], leaf)
        for s in intent.external_sessions():
            network.add_speaker(str(s.peer_address), s.peer_asn, [str(s.address.ip)], leaf)
            if s.peer_address6 is not None and s.address6 is not None:
                network.add_speaker(str(s.peer_address6), s.peer_asn, [str(s.address6.ip)], leaf)


@contextmanager
def testbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inventory: str = "shownet2024", *,
            driver_junos: str = "napalm", minute: float = 3.0, only: list[str] | None = None,
            network: bool = False) -> Iterator[Testbed]:
    """``network=True``: the devices join one :class:`tests.devices.network.Network` (they
    see each other's configurations: sessions, EVPN remote VTEPs, underlay routes) with
    the intent's Kubernetes nodes and external routers as speakers."""
    ok, why = devices_available()
    if not ok:
        pytest.skip(why)
    from tests.devices.junos import JunosDevice
    from tests.devices.network import Network

    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "inventories" / inventory, inv)
    fab = fabric.load(inv)
    net = Network() if network else None
    if net is not None:
        outside_speakers(fab, net)
    with ExitStack() as stack:
        devices: dict[str, Any] = {}
        platforms: dict[str, str] = {}
        for sw in fab.inventory.switches():
            if only is not None and sw.name not in only:
                continue
            mgmt = str(sw.mgmt) if sw.mgmt else "192.0.2.1/24"
            platforms[sw.name] = sw.platform
            if sw.platform == "junos":
                dev = JunosDevice(junos_factory(sw.name, mgmt), hostname=sw.name, username=USERNAME,
                                  password=PASSWORD, minute=minute, network=net)
            elif sw.platform == "nxos":
                if not nxos_available():
                    pytest.skip("tests.devices.nxos (the NX-API test device) is not in this tree yet")
                from tests.devices.nxos import NxosDevice  # type: ignore[import-not-found,unused-ignore]

                dev = NxosDevice(nxos_factory(sw.name, mgmt), hostname=sw.name, username=USERNAME,
                                 password=PASSWORD, minute=minute, network=net)
            else:
                pytest.skip(f"no test device for platform {sw.platform}")
            devices[sw.name] = stack.enter_context(dev)
        kh = tmp_path / "known_hosts"
        kh.write_text("".join(d.known_hosts_line() + "\n" for d in devices.values()), encoding="utf-8")
        env = {"FABRIC_USERNAME": USERNAME, "FABRIC_PASSWORD": PASSWORD}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        bed = Testbed(inv, devices, kh, platforms, env)
        write_deploy_yaml(bed, driver_junos)
        yield bed


testbed.__test__ = False  # type: ignore[attr-defined]
