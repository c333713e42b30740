"""Pristine config: what onboarding keeps from a running config, and pristine + rendered."""

from __future__ import annotations

from pathlib import Path

import fabric
from fabric.deploy.pristine import blocks, cli_blocks, combine, extract
from fabric.render.junos.tree import parse

ROOT = Path(__file__).resolve().parents[2]

JUNOS_RUNNING = """\
## Last commit: 2026-11-30 10:00:00 UTC by admin
version 23.4R1.9;
system {
    host-name factory-name;
    root-authentication {
        encrypted-password "$6$abc$def"; ## SECRET-DATA
    }
    login {
        user admin {
            uid 2000;
            class super-user;
            authentication {
                encrypted-password "$6$xyz$uvw"; ## SECRET-DATA
            }
        }
    }
    services {
        ssh;
        netconf {
            ssh;
        }
    }
    syslog {
        file messages {
            any notice;
        }
    }
    management-instance;
}
snmp {
    community public {
        authorization read-only;
    }
}
interfaces {
    xe-0/0/0 {
        description "old fabric port";
    }
    em0 {
        unit 0 {
            family inet {
                address 172.16.0.21/24;
            }
        }
    }
}
routing-instances {
    mgmt_junos {
        routing-options {
            static {
                route 0.0.0.0/0 next-hop 172.16.0.1;
            }
        }
    }
    OLD-VRF {
        instance-type vrf;
    }
}
"""

NXOS_RUNNING = """\
!Command: show running-config
!Running configuration last done at: Mon Nov 30 10:00:00 2026
version 10.3(4a) Bios:version 05.47
hostname factory
feature nxapi
feature scp-server
username admin password 5 $5$abc$def  role network-admin
ssh key rsa 2048
snmp-server user admin network-admin auth md5 0x1234 priv 0x5678 localizedkey
vlan 1,100
interface Ethernet1/1
  description old
interface mgmt0
  vrf member management
  ip address 172.16.0.23/24
vrf context management
  ip route 0.0.0.0/0 172.16.0.1
line console
"""


def test_junos_extract_keeps_only_unmanaged_parts() -> None:
    p = extract("junos", JUNOS_RUNNING)
    top = [s.words for s in parse(p)]
    assert top == [("version", "23.4R1.9"), ("system",), ("snmp",), ("interfaces",), ("routing-instances",)]
    assert "root-authentication" in p and "user admin" in p and "syslog" in p and "management-instance;" in p
    assert "em0" in p and "mgmt_junos" in p
    assert "xe-0/0/0" not in p and "OLD-VRF" not in p and "host-name" not in p and "netconf" not in p


def test_junos_combine_merges_trees_and_rendered_wins() -> None:
    fab = fabric.load(ROOT / "inventories/shownet2024")
    rendered = fab.render()["leaf1"].files["conf"]
    full = combine("junos", extract("junos", JUNOS_RUNNING), rendered)
    tree = parse(full)
    system = next(s for s in tree if s.words == ("system",))
    assert [c.words for c in system.children or [] if c.keyword == "host-name"] == [("host-name", "leaf1")]
    assert system.find("login") is not None and system.find("services") is not None
    interfaces = next(s for s in tree if s.words == ("interfaces",))
    names = [c.keyword for c in interfaces.children or []]
    assert "em0" in names and "et-0/0/48" in names and "xe-0/0/0" in names  # xe-0/0/0 comes from the render
    assert len([s for s in tree if s.words == ("interfaces",)]) == 1
    # idempotent: the pristine part of the combined config is the pristine config
    assert blocks("junos", extract("junos", full)) == blocks("junos", extract("junos", JUNOS_RUNNING))


def test_nxos_extract_and_combine() -> None:
    p = extract("nxos", NXOS_RUNNING)
    heads = [h for h, _ in cli_blocks(p)]
    assert heads == [
        "version 10.3(4a) Bios:version 05.47", "feature nxapi", "feature scp-server",
        "username admin password 5 $5$abc$def  role network-admin", "ssh key rsa 2048",
        "snmp-server user admin network-admin auth md5 0x1234 priv 0x5678 localizedkey",
        "interface mgmt0", "vrf context management", "line console",
    ]
    fab = fabric.load(ROOT / "inventories/shownet2024")
    rendered = fab.render()["leaf3"].files["cfg"]
    full = combine("nxos", p, rendered)
    parts = cli_blocks(full)
    mgmt = [b for b in parts if b[0] == "interface mgmt0"]
    assert len(mgmt) == 1 and "  ip address 172.16.0.23/24" in mgmt[0][1]
    assert any(h == "vrf context management" for h, _ in parts)
    assert "hostname leaf3" in full and "hostname factory" not in full and "interface Ethernet1/1\n  description old" not in full
    assert blocks("nxos", extract("nxos", full)) == blocks("nxos", p)


def test_nothing_to_keep_is_an_empty_file() -> None:
    assert extract("junos", "interfaces {\n    xe-0/0/0;\n}\n") == ""
    assert combine("junos", "", "system {\n    host-name x;\n}\n") == "system {\n    host-name x;\n}\n"
