"""The generated exabgp.conf and environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgp.config import validate_config
from bgp.configfile import ConfigError
from bgp.speaker import exabgp_conf


def cfg(**over: object):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {
        "asn": 65101,
        "router_id": "10.0.0.11",
        "peers": [
            {"address": "10.1.0.1", "asn": 65001, "name": "leaf1", "local_address": "10.1.0.2", "hold_time": 6},
            {"address": "2001:db8::1", "asn": 65001, "multihop": 3},
        ],
        "guard": {"allowed_ranges": ["192.0.2.0/24"]},
    }
    data.update(over)
    return validate_config(data)


def test_neighbors() -> None:
    text = exabgp_conf.render(cfg(), ["/usr/bin/python3", "-m", "bgp.speaker.relay", "/run/bgp-agent/exabgp-api.sock"])
    assert "  run /usr/bin/python3 -m bgp.speaker.relay /run/bgp-agent/exabgp-api.sock;\n  encoder json;" in text
    v4 = text[text.index("neighbor 10.1.0.1 {") : text.index("neighbor 2001:db8::1 {")]
    v6 = text[text.index("neighbor 2001:db8::1 {") :]
    for line in [
        "local-as 65101;",
        "peer-as 65001;",
        "router-id 10.0.0.11;",
        "local-address 10.1.0.2;",
        "hold-time 6;",
        "passive false;",
        "outgoing-ttl 1;",
        "manual-eor true;",
        "ipv4 unicast;",
        "graceful-restart 15;",
        "processes [ bgp-agent ];",
        "neighbor-changes;",
        "send { parsed; update; }",
    ]:
        assert line in v4, line
    assert "outgoing-ttl 3;" in v6 and "local-address auto;" in v6 and "ipv6 unicast;" in v6
    assert "ipv4 unicast" not in v6


def test_graceful_restart_off() -> None:
    assert "graceful-restart" not in exabgp_conf.render(cfg(graceful_restart={"enabled": False}), ["/bin/true"])


def test_password(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("s3cret!\n")
    c = cfg(peers=[{"address": "10.1.0.1", "asn": 65001, "password_file": str(pw)}])
    password = exabgp_conf.read_password(c.peers[0])
    assert password == "s3cret!"
    assert 'md5-password "s3cret!";' in exabgp_conf.render(c, ["/bin/true"], {"10.1.0.1": password})


@pytest.mark.parametrize("bad", ['a"b', "a;b", "a b", "a}b", ""])
def test_password_that_would_break_the_config_is_refused(tmp_path: Path, bad: str) -> None:
    pw = tmp_path / "pw"
    pw.write_text(bad + "\n")
    c = cfg(peers=[{"address": "10.1.0.1", "asn": 65001, "password_file": str(pw)}])
    with pytest.raises(ConfigError):
        exabgp_conf.read_password(c.peers[0])


def test_state_dir_with_a_space_is_refused() -> None:
    with pytest.raises(ConfigError):
        exabgp_conf.render(cfg(), ["/usr/bin/python3", "-m", "bgp.speaker.relay", "/run/my dir/api.sock"])


def test_environment() -> None:
    env = exabgp_conf.environment(cfg(exabgp={"env": {"exabgp.log.level": "DEBUG"}}))
    assert env["exabgp.api.ack"] == "true"  # every command acked, and every ack read
    assert env["exabgp.daemon.daemonize"] == "false"
    assert env["exabgp.api.terminate"] == "true"
    assert env["exabgp.tcp.bind"] == ""  # no listener unless a peer is passive
    assert env["exabgp.log.level"] == "DEBUG"  # config overrides win
    peer = {"address": "10.1.0.1", "asn": 1, "passive": True, "local_address": "10.1.0.2"}
    passive = exabgp_conf.environment(cfg(peers=[peer]))
    assert passive["exabgp.tcp.bind"] == "10.1.0.2"
